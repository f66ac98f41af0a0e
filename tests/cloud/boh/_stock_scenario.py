"""A seeded store day after day at one stock location, for the stock-truth signals.

Shoppers pick 1 or 2 cans (Poisson, ``picks_per_h`` in opening hours 08-22) and pay 1-20
minutes later (POS sales); staff look every 30 minutes while open and refill the shelf's
two lanes to 12 each when it holds 4 or fewer, booking a receipt of what they put up; the
shelf can run empty in the evening and stay empty overnight with nothing on the book.
Lanes now and then go into ``fault`` for ten minutes (a stuck cell) and come back
``stable``. The core's clock follows the scenario; the stock sweep runs every 5 minutes.

Diverging (``diverge_at_h``): at that hour a delivery of 12 is booked (receipt) but never
reaches the shelf, and staff stop refilling it, trusting the book: the shelf empties and
stays empty while the book says 12 or more. The phantom alert should follow
``phantom_after_s`` after the shelf emptied.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Any

from bohsense.cloud.boh import BohCore, PosBatch, PosLine, PosTransactionIn
from bohsense.contracts.events import Event, LaneChange, LaneState

from .factory import GW, LANE_A, LANE_B, SITE
from .test_inventory import batch_of

S = 10**9
MIN = 60 * S
H = 3600 * S
SWEEP = 5 * MIN
LOC = "aisle-1/shelf-1"
LANES = (LANE_A, LANE_B)
FULL = 12


@dataclass
class Result:
    picks: int = 0
    sales: int = 0
    restocks: int = 0
    faults: int = 0
    sweeps: int = 0
    #: when the shelf emptied for good in a diverging run (event time), None otherwise
    emptied_ns: int | None = None
    alerts: dict[str, list[int]] = field(default_factory=dict)  # condition -> opened_ns

    def first(self, condition: str) -> int | None:
        found = self.alerts.get(condition)
        return min(found) if found else None


@dataclass
class _Clock:
    now: int

    def __call__(self) -> int:
        return self.now


def run(
    core: BohCore,
    clock: _Clock,
    *,
    start_ns: int,
    days: float,
    seed: int,
    picks_per_h: float = 6.0,
    fault_per_h: float = 0.2,
    diverge_at_h: float | None = None,
) -> Result:
    rng = random.Random(seed)
    out = Result()
    end = start_ns + int(days * 24 * H)
    lanes = {LANE_A: FULL, LANE_B: FULL}
    faulty: set[str] = set()
    seq = [0]
    txn = [0]
    diverged = False
    queue: list[tuple[int, int, str, Any]] = []  # (ts, order, what, data)
    order = [0]

    def at(ts: int, what: str, data: Any = None) -> None:
        order[0] += 1
        heapq.heappush(queue, (ts, order[0], what, data))

    def send(*events: Event) -> None:
        seq[0] += 1
        core.apply_batches([batch_of(seq[0], *events, gateway=GW)])

    def post(kind: str, ts: int, qty: int) -> None:
        txn[0] += 1
        line = PosLine(float(qty), sku="COLA", location=LOC)
        core.record_transactions(
            PosBatch("till-1", (PosTransactionIn(f"t{txn[0]}", kind, SITE, ts, (line,)),)), actor="scenario"
        )

    def is_open(ts: int) -> bool:
        hour = (ts // H) % 24
        return 8 <= hour < 22

    clock.now = start_ns
    send(*(Event("shelf-01", "shelf.lane_state", start_ns, LaneState(x, "stable", FULL)) for x in LANES))
    post("receipt", start_ns, 2 * FULL)
    t = start_ns
    while t < end:  # shoppers: a Poisson process while the store is open
        t += int(rng.expovariate(picks_per_h) * H)
        if is_open(t):
            at(t, "pick", 1 if rng.random() < 0.8 else 2)
    for k in range(int((end - start_ns) // (30 * MIN))):
        ts = start_ns + k * 30 * MIN
        if is_open(ts):
            at(ts, "check")
    t = start_ns
    while t < end:
        t += int(rng.expovariate(fault_per_h) * H)
        at(t, "fault", rng.choice(LANES))
    for k in range(1, int((end - start_ns) // SWEEP) + 1):
        at(start_ns + k * SWEEP, "sweep")
    if diverge_at_h is not None:
        at(start_ns + int(diverge_at_h * H), "diverge")
    while queue:
        ts, _, what, data = heapq.heappop(queue)
        if ts >= end:
            break
        clock.now = ts
        if what == "pick":
            lane = max(LANES, key=lambda x: lanes[x])
            n = min(data, lanes[lane])
            if n == 0:
                continue  # an empty shelf: the shopper leaves without
            lanes[lane] -= n
            out.picks += 1
            if lane not in faulty:
                send(Event("shelf-01", "shelf.pick", ts, LaneChange(lane, n, 0.97, -355.0 * n, lanes[lane])))
            at(ts + rng.randint(1, 20) * MIN, "pay", n)
            if diverged and sum(lanes.values()) == 0 and out.emptied_ns is None:
                out.emptied_ns = ts
        elif what == "pay":
            post("sale", ts, data)
            out.sales += 1
        elif what == "check":
            if not diverged and sum(lanes.values()) <= 4:
                put = {x: FULL - lanes[x] for x in LANES}
                for x in LANES:
                    lanes[x] = FULL
                post("receipt", ts, sum(put.values()))
                send(
                    *(
                        Event(
                            "shelf-01", "shelf.restock", ts, LaneChange(x, put[x], 0.99, 355.0 * put[x], FULL)
                        )
                        for x in LANES
                        if put[x] > 0 and x not in faulty
                    )
                )
                out.restocks += 1
        elif what == "fault":
            if data in faulty:
                continue
            faulty.add(data)
            out.faults += 1
            send(Event("shelf-01", "shelf.lane_state", ts, LaneState(data, "fault", None, "stuck")))
            at(ts + 10 * MIN, "recover", data)
        elif what == "recover":
            faulty.discard(data)
            send(Event("shelf-01", "shelf.lane_state", ts, LaneState(data, "stable", lanes[data])))
        elif what == "diverge":
            diverged = True
            post("receipt", ts, FULL)  # booked, never shelved
        elif what == "sweep":
            core.sweep_stock()
            out.sweeps += 1
    for a in core.list_alerts(limit=1000):
        out.alerts.setdefault(a.condition, []).append(a.opened_ns)
    return out
