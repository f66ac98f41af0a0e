"""The supplier calendar, on-order counting and order sizing: properties over many
calendars, positions and pack sizes (where duplicated and wrongly sized orders come from)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bohsense.models.replenish import PolicyError, round_order
from bohsense.models.replenish._arithmetic import OrderCalendar, eoq, parse_weekdays, size_order

weekday_sets = st.frozensets(st.integers(0, 6), min_size=1)
days = st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31))
D = dt.timedelta


@settings(deadline=None)  # a shared machine's pauses are not the arithmetic's
@given(st.integers(0, 20), weekday_sets, weekday_sets, days)
def test_arrival_is_the_first_delivery_day_from_the_lead_time_on(
    lead: int, order_days: frozenset[int], delivery: frozenset[int], day: dt.date
) -> None:
    cal = OrderCalendar(lead, order_days, delivery)
    a = cal.arrival(day)
    assert a >= day + D(days=lead)
    assert a.weekday() in delivery
    assert all((day + D(days=k)).weekday() not in delivery for k in range(lead, (a - day).days))
    assert cal.arrival(day + D(days=1)) >= a  # a later order never arrives sooner


@settings(deadline=None)  # a shared machine's pauses are not the arithmetic's
@given(st.integers(0, 20), weekday_sets, weekday_sets, days)
def test_next_order_day_and_the_protection_interval(
    lead: int, order_days: frozenset[int], delivery: frozenset[int], day: dt.date
) -> None:
    cal = OrderCalendar(lead, order_days, delivery)
    nxt = cal.next_order_day(day)
    assert nxt >= day
    assert cal.is_order_day(nxt)
    assert not any(cal.is_order_day(day + D(days=k)) for k in range((nxt - day).days))
    later, later_arrival = cal.next_arrival(nxt)
    assert later > nxt
    assert cal.is_order_day(later)
    assert later_arrival == cal.arrival(later) > cal.arrival(nxt)
    # order days in between deliver together with this one: they add no protection
    for k in range(1, (later - nxt).days):
        t = nxt + D(days=k)
        if cal.is_order_day(t):
            assert cal.arrival(t) == cal.arrival(nxt)
    lead_days, review_days = cal.protection(nxt)
    assert lead_days == (cal.arrival(nxt) - nxt).days >= lead
    assert review_days == (later_arrival - cal.arrival(nxt)).days >= 1
    assert lead_days + review_days <= lead + 14  # at most a week's wait to order and to deliver


def test_a_lead_time_that_ends_on_a_weekend_ends_on_monday() -> None:
    friday = dt.date(2026, 12, 4)
    cal = OrderCalendar(2, parse_weekdays("Mon|Thu|Fri"), parse_weekdays("Mon|Tue|Wed|Thu|Fri"))
    assert cal.arrival(friday) == dt.date(2026, 12, 7)
    # Thursday's and Friday's orders both arrive on Monday: Thursday's must cover until the
    # next order that arrives later (Monday's, on Wednesday)
    thursday = dt.date(2026, 12, 3)
    assert cal.arrival(thursday) == dt.date(2026, 12, 7)
    assert cal.next_arrival(thursday) == (dt.date(2026, 12, 7), dt.date(2026, 12, 9))
    assert cal.protection(thursday) == (4, 2)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 6), weekday_sets, weekday_sets, st.integers(1, 9), days)
def test_ordering_up_to_the_demand_until_the_next_arrival_never_runs_out(
    lead: int, order_days: frozenset[int], delivery: frozenset[int], daily: int, start: dt.date
) -> None:
    """Constant demand, counting what is on order: on every order day the position is raised
    to the demand until the next order can arrive. The shelf never runs out, and an order day
    whose order would arrive with an earlier one orders nothing (no duplicate)."""
    cal = OrderCalendar(lead, order_days, delivery)
    first = cal.next_order_day(start)
    lead_days, review_days = cal.protection(first)
    on_hand = daily * (lead_days + review_days)
    on_order: dict[dt.date, int] = {}
    orders: list[dt.date] = []
    for k in range(84):
        t = first + D(days=k)
        on_hand += on_order.pop(t, 0)
        if cal.is_order_day(t):
            lt, rv = cal.protection(t)
            position = on_hand + sum(on_order.values())
            q = size_order(position, order_up_to=daily * (lt + rv))
            if q:
                orders.append(t)
                a = cal.arrival(t)
                if a == t:
                    on_hand += q
                else:
                    on_order[a] = on_order.get(a, 0) + q
        assert on_hand >= daily, f"ran out on {t}"
        on_hand -= daily
    arrivals = [cal.arrival(t) for t in orders]
    assert len(arrivals) == len(set(arrivals))  # one order per arrival day


sizes = st.tuples(st.integers(1, 48), st.integers(0, 200))


@settings(deadline=None)  # a shared machine's pauses are not the arithmetic's
@given(
    st.floats(-100, 500, allow_nan=False),
    st.integers(-50, 600),
    sizes,
    st.one_of(st.none(), st.integers(0, 800)),
)
def test_order_up_to_sizing(
    position: float, level: int, pack_min: tuple[int, int], capacity: int | None
) -> None:
    pack, min_order = pack_min
    q = size_order(position, order_up_to=level, pack=pack, min_order=min_order, capacity=capacity)
    assert q >= 0
    assert q % pack == 0
    assert q == 0 or q >= min_order
    if capacity is not None:
        assert q == 0 or position + q <= capacity + 1e-9
    wanted = round_order(level - position, pack, min_order)
    if capacity is None or position + wanted <= capacity:
        assert q == wanted  # never less than the need when the shelf has room for it
        assert q == 0 or position + q >= level - 1e-9
    # idempotent: with the order counted as on order, asking again orders nothing
    assert size_order(position + q, order_up_to=level, pack=pack, min_order=min_order, capacity=capacity) == 0


@settings(deadline=None)  # a shared machine's pauses are not the arithmetic's
@given(
    st.floats(-100, 500, allow_nan=False),
    st.integers(-50, 600),
    st.integers(1, 40),
    sizes,
    st.one_of(st.none(), st.integers(0, 800)),
)
def test_reorder_point_and_quantity_sizing(
    position: float, reorder_point: int, packs: int, pack_min: tuple[int, int], capacity: int | None
) -> None:
    pack, min_order = pack_min
    quantity = round_order(packs * pack, pack, min_order)
    q = size_order(
        position,
        reorder_point=reorder_point,
        quantity=quantity,
        pack=pack,
        min_order=min_order,
        capacity=capacity,
    )
    assert q % pack == 0
    assert q == 0 or q >= min_order
    if capacity is not None:
        assert q == 0 or position + q <= capacity + 1e-9
    if position >= reorder_point:
        assert q == 0
    elif (
        capacity is None or position + quantity * math.ceil((reorder_point - position) / quantity) <= capacity
    ):
        assert q % quantity == 0
        assert position + q >= reorder_point - 1e-9  # lifted to the reorder point ...
        assert position + q - quantity < reorder_point  # ... by the fewest quantities
    again = size_order(
        position + q, reorder_point=reorder_point, quantity=quantity, pack=pack, min_order=min_order,
        capacity=capacity,
    )  # fmt: skip
    assert again == 0


def test_size_order_refuses_impossible_settings() -> None:
    with pytest.raises(PolicyError, match="either"):
        size_order(3)
    with pytest.raises(PolicyError, match="pack size 0"):
        size_order(3, order_up_to=5, pack=0)
    with pytest.raises(PolicyError, match="capacity -1"):
        size_order(3, order_up_to=5, capacity=-1)
    with pytest.raises(PolicyError, match="order quantity 5 must be a positive whole number of packs of 4"):
        size_order(3, reorder_point=5, quantity=5, pack=4)
    with pytest.raises(PolicyError, match="at least one order weekday"):
        OrderCalendar(1, ())
    with pytest.raises(PolicyError, match="lead time -2"):
        OrderCalendar(-2)


@settings(deadline=None)  # a shared machine's pauses are not the arithmetic's
@given(st.floats(0.01, 1000), st.floats(0.01, 500), st.floats(0.01, 100))
def test_eoq_balances_ordering_and_holding_cost(daily: float, order_cost: float, holding: float) -> None:
    q = eoq(daily, order_cost, holding)
    annual = daily * 365
    # at the EOQ the yearly ordering cost equals the yearly holding cost of half a batch
    assert math.isclose(annual / q * order_cost, q / 2 * holding, rel_tol=1e-9)
    assert eoq(daily * 4, order_cost, holding) == pytest.approx(2 * q)
    assert eoq(0, order_cost, holding) == eoq(daily, 0, holding) == eoq(daily, order_cost, 0) == 0


def test_weekday_lists() -> None:
    assert parse_weekdays("Mon|Thu") == {0, 3}
    assert parse_weekdays("monday, friday sun") == {0, 4, 6}
    assert parse_weekdays("all") == parse_weekdays("") == set(range(7))
    with pytest.raises(PolicyError, match="weekday 'mo' is not one of Mon"):
        parse_weekdays("mo")
