"""The stock-truth signals over seeded store runs (``_stock_scenario``): phantom inventory
fires within the stated time when book and shelf diverge, and no alert at all opens over
runs where they agree. The long runs (``-m long``) give the figures in docs/stock.md."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bohsense.cloud.boh import BohCore, StockSettings

from . import _stock_scenario as sc
from .test_stock_truth import stock_catalog

T_DAY = 1_764_547_200 * 10**9  # 2025-12-01T00:00:00Z: runs start at midnight UTC
PHANTOM_S = 3 * 3600.0
#: the phantom alert opens within this of the shelf emptying: the stated time, a sweep
#: period, and a lane fault that may hide the last pick until it recovers
PHANTOM_BOUND_S = PHANTOM_S + 5 * 60 + 10 * 60


@pytest.fixture
def store(db_url: str) -> Iterator[tuple[BohCore, sc._Clock]]:
    clock = sc._Clock(T_DAY)
    core = BohCore(db_url, clock=clock, stock_settings=StockSettings(phantom_after_s=PHANTOM_S))
    core.migrate()
    core.load_catalog(stock_catalog())
    yield core, clock
    core.close()


def diverging(store: tuple[BohCore, sc._Clock], seed: int) -> sc.Result:
    core, clock = store
    out = sc.run(core, clock, start_ns=T_DAY, days=1.0, seed=seed, diverge_at_h=11.0)
    assert out.emptied_ns is not None, "the shelf never emptied: the scenario did not diverge"
    return out


def agreeing(store: tuple[BohCore, sc._Clock], seed: int, days: float) -> sc.Result:
    core, clock = store
    return sc.run(core, clock, start_ns=T_DAY, days=days, seed=seed)


def test_phantom_inventory_fires_within_the_stated_time_when_book_and_shelf_diverge(
    store: tuple[BohCore, sc._Clock],
) -> None:
    out = diverging(store, seed=7)
    opened = out.first("phantom-inventory")
    assert opened is not None, out.alerts
    assert out.emptied_ns is not None
    delay_s = (opened - out.emptied_ns) / 1e9
    assert PHANTOM_S <= delay_s <= PHANTOM_BOUND_S, delay_s
    assert len(out.alerts["phantom-inventory"]) == 1


def test_no_alert_opens_over_a_day_where_book_and_shelf_agree(store: tuple[BohCore, sc._Clock]) -> None:
    out = agreeing(store, seed=11, days=1.0)
    assert out.picks > 50
    assert out.restocks >= 1
    assert out.sweeps == 287
    assert out.faults >= 1
    assert out.alerts == {}


@pytest.mark.long
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_long_diverging_runs(store: tuple[BohCore, sc._Clock], seed: int) -> None:
    out = diverging(store, seed)
    opened = out.first("phantom-inventory")
    assert opened is not None
    assert out.emptied_ns is not None
    delay_s = (opened - out.emptied_ns) / 1e9
    print(
        f"\nFIGURE diverging seed={seed} emptied_h={(out.emptied_ns - T_DAY) / 3.6e12:.2f} phantom_delay_s={delay_s:.0f} alerts={ {k: len(v) for k, v in out.alerts.items()} }"
    )
    assert PHANTOM_S <= delay_s <= PHANTOM_BOUND_S


@pytest.mark.long
@pytest.mark.parametrize("seed", [21, 22])
def test_long_agreeing_runs(store: tuple[BohCore, sc._Clock], seed: int) -> None:
    out = agreeing(store, seed, days=7.0)
    print(
        f"\nFIGURE agreeing seed={seed} days=7 picks={out.picks} sales={out.sales} restocks={out.restocks} faults={out.faults} sweeps={out.sweeps} alerts={ {k: len(v) for k, v in out.alerts.items()} }"
    )
    assert out.alerts == {}
