"""The commissioning checklist: does the store report what its hand-over sheet planned?

``observe`` gathers what the cloud knows of the site's gateway (its status, the devices
it reported with their last event time, the newest point of every series in the
time-series store); ``checklist`` decides, with no I/O, one item per planned thing:

=========  =================================================================================
check      passes when
=========  =================================================================================
gateway    the gateway's status is ``online``
device     a shelf: every planned lane has reported within ``max_age_s``; a condition
           sensor: any reading within ``max_age_s``; an RFID reader: the gateway reports
           it connected (``connected`` = 1) within ``max_age_s``
lane       its newest ``weight_g`` is ``k`` whole units of the SKU's unit weight, give or
           take ``tolerance`` of a unit, with ``0 <= k <= capacity``, and recent
asset      its condition sensor sent data within ``max_age_s``
=========  =================================================================================

Each item is ``pass``, ``fail`` (it reports, but wrongly or not recently) or ``missing``
(nothing from it at all), with the reason in words and the figures behind it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..boh import BohCore, NotFound
from ..ports import LatestPoint, TimeSeriesQuery
from ._plan import StorePlan

__all__ = ["Checklist", "Item", "Observed", "checklist", "observe"]

NS = 1_000_000_000
PASS, FAIL, MISSING = "pass", "fail", "missing"


@dataclass(frozen=True, slots=True)
class Item:
    check: str  # gateway / device / lane / asset
    subject: str
    status: str  # pass / fail / missing
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Checklist:
    site: str
    gateway: str
    generated_ns: int
    imported_ns: int
    max_age_s: float
    tolerance: float
    items: tuple[Item, ...]

    @property
    def summary(self) -> dict[str, int]:
        out = {PASS: 0, FAIL: 0, MISSING: 0}
        for item in self.items:
            out[item.status] += 1
        return out

    @property
    def ok(self) -> bool:
        return all(i.status == PASS for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["items"] = [asdict(i) for i in self.items]
        out["summary"] = self.summary
        out["ok"] = self.ok
        return out


@dataclass(frozen=True, slots=True)
class Observed:
    """What the cloud knows of the gateway, as of ``now_ns``."""

    now_ns: int
    gateway_state: str | None = None  # None: never registered / never reported
    gateway_status_ns: int | None = None
    #: device → last event time the BOH core has seen from it
    last_seen: dict[str, int] = field(default_factory=dict)
    #: (device, metric) → (event time, value), the newest point of the series
    latest: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)

    @classmethod
    def of(cls, now_ns: int, points: Iterable[LatestPoint], **kw: Any) -> Observed:
        return cls(now_ns, latest={(p.device, p.metric): (p.ts, p.value) for p in points}, **kw)

    def newest(self, device: str, metrics: Collection[str] | None = None) -> tuple[int, str, float] | None:
        """The newest point of ``device`` (of one of ``metrics``), as (ts, metric, value)."""
        best = None
        for (dev, metric), (ts, value) in self.latest.items():
            if dev == device and (metrics is None or metric in metrics) and (best is None or ts > best[0]):
                best = (ts, metric, value)
        seen = self.last_seen.get(device)
        if metrics is None and seen is not None and (best is None or seen > best[0]):
            best = (seen, "", float("nan"))
        return best


async def observe(core: BohCore, tsdb: TimeSeriesQuery, plan: StorePlan, *, now_ns: int) -> Observed:
    gw = plan.gateway.id
    state = status_ns = None
    try:
        record = core.get_gateway(gw)
        state, status_ns = record.state, record.last_status_ns
    except NotFound:
        pass
    seen = {
        d.device: d.last_seen_ns
        for d in core.list_devices(gateway=gw, limit=100_000)
        if d.last_seen_ns is not None
    }
    points = await tsdb.latest(gateways={gw})
    return Observed.of(now_ns, points, gateway_state=state, gateway_status_ns=status_ns, last_seen=seen)


def _ago(now_ns: int, ts: int) -> str:
    s = (now_ns - ts) / NS
    if s < 0:
        return f"{-s:.0f} s ahead of the cloud's clock"
    if s < 120:
        return f"{s:.0f} s ago"
    if s < 7200:
        return f"{s / 60:.0f} min ago"
    return f"{s / 3600:.1f} h ago"


def checklist(
    plan: StorePlan, seen: Observed, *, imported_ns: int, max_age_s: float = 600.0, tolerance: float = 0.3
) -> Checklist:
    """The checklist of ``plan`` against what was ``seen`` (no I/O)."""
    if not 0 < tolerance < 0.5:
        raise ValueError(f"tolerance must be a fraction of a unit in (0, 0.5), not {tolerance}")
    if not max_age_s > 0:
        raise ValueError(f"max_age_s must be positive, not {max_age_s}")
    now, horizon = seen.now_ns, int(max_age_s * NS)
    items: list[Item] = []

    def fresh(ts: int) -> bool:
        return now - ts <= horizon

    # the gateway
    gw = plan.gateway.id
    if seen.gateway_state in (None, "unknown") and seen.gateway_status_ns is None:
        items.append(Item("gateway", gw, MISSING, "the gateway has never reported its status"))
    elif seen.gateway_state == "online":
        items.append(
            Item("gateway", gw, PASS, "online", {"state": "online", "status_ns": seen.gateway_status_ns})
        )
    else:
        when = f" ({_ago(now, seen.gateway_status_ns)})" if seen.gateway_status_ns else ""
        items.append(
            Item(
                "gateway",
                gw,
                FAIL,
                f"the gateway is {seen.gateway_state}{when}",
                {"state": seen.gateway_state},
            )
        )

    # devices
    for dev in plan.devices:
        if dev.kind == "shelf":
            lanes = [x.lane_device for x in plan.lanes_of(dev.device)]
            heard = {name: seen.newest(name) for name in lanes}
            recent = [n for n, p in heard.items() if p is not None and fresh(p[0])]
            ever = [n for n, p in heard.items() if p is not None]
            detail: dict[str, Any] = {"lanes": len(lanes), "reporting": len(recent)}
            if len(recent) == len(lanes):
                items.append(Item("device", dev.device, PASS, f"all {len(lanes)} lanes report", detail))
            elif not ever:
                items.append(
                    Item(
                        "device", dev.device, MISSING, f"none of its {len(lanes)} lanes has reported", detail
                    )
                )
            else:
                quiet = ", ".join(n for n in lanes if n not in recent)
                items.append(
                    Item(
                        "device",
                        dev.device,
                        FAIL,
                        f"{len(recent)} of {len(lanes)} lanes report; silent: {quiet}",
                        detail,
                    )
                )
        elif dev.kind == "rfid":
            point = seen.newest(dev.device, ("connected",))
            if point is None:
                items.append(
                    Item("device", dev.device, MISSING, "the gateway has reported nothing of this reader")
                )
            elif not fresh(point[0]):
                items.append(
                    Item("device", dev.device, FAIL, f"last reported {_ago(now, point[0])}", {"ts": point[0]})
                )
            elif point[2] < 1:
                items.append(
                    Item(
                        "device",
                        dev.device,
                        FAIL,
                        f"the gateway cannot connect to the reader at {dev.host} (connected = 0)",
                        {"ts": point[0], "connected": point[2]},
                    )
                )
            else:
                items.append(Item("device", dev.device, PASS, "connected and reading", {"ts": point[0]}))
        else:
            point = seen.newest(dev.device)
            if point is None:
                items.append(Item("device", dev.device, MISSING, "no reading from this sensor"))
            elif not fresh(point[0]):
                items.append(
                    Item("device", dev.device, FAIL, f"last reading {_ago(now, point[0])}", {"ts": point[0]})
                )
            else:
                items.append(
                    Item(
                        "device",
                        dev.device,
                        PASS,
                        f"reporting (last {_ago(now, point[0])})",
                        {"ts": point[0]},
                    )
                )

    # lanes
    for lane in sorted(plan.lanes, key=lambda x: (x.device, x.lane)):
        items.append(_lane_item(lane, seen.latest.get((lane.lane_device, "weight_g")), now, fresh, tolerance))

    # assets
    for asset in plan.assets:
        if not asset.sensor:
            items.append(Item("asset", asset.asset, MISSING, "no condition sensor is planned for it"))
            continue
        point = seen.newest(asset.sensor)
        detail = {"sensor": asset.sensor}
        if point is None:
            items.append(
                Item(
                    "asset", asset.asset, MISSING, f"no condition data from its sensor {asset.sensor}", detail
                )
            )
        elif not fresh(point[0]):
            detail["ts"] = point[0]
            reason = f"its sensor {asset.sensor} last sent data {_ago(now, point[0])}"
            items.append(Item("asset", asset.asset, FAIL, reason, detail))
        else:
            detail.update(ts=point[0], metric=point[1])
            what = f"{point[1]} = {point[2]:g}, " if point[1] else ""
            items.append(Item("asset", asset.asset, PASS, f"{what}{_ago(now, point[0])}", detail))
    return Checklist(plan.site.id, gw, now, imported_ns, max_age_s, tolerance, tuple(items))


def _lane_item(lane: Any, point: tuple[int, float] | None, now: int, fresh: Any, tolerance: float) -> Item:
    subject = lane.lane_device
    unit, cap = float(lane.unit_weight_g), int(lane.capacity)
    detail: dict[str, Any] = {"sku": lane.sku, "unit_weight_g": unit, "capacity": cap}
    if point is None:
        return Item("lane", subject, MISSING, f"no weight reported ({lane.sku})", detail)
    ts, weight = point
    units = weight / unit
    k = round(units)
    off = units - k
    detail.update(weight_g=weight, ts=ts, units=round(units, 3), k=k)
    if not fresh(ts):
        return Item("lane", subject, FAIL, f"last weight {_ago(now, ts)}", detail)
    if abs(off) > tolerance:
        return Item(
            "lane",
            subject,
            FAIL,
            f"{weight:g} g is {units:.2f} units of {lane.sku} at {unit:g} g: not a whole number of units"
            f" (off by {abs(off):.2f}, tolerance {tolerance:g}); wrong SKU, unit weight or tare?",
            detail,
        )
    if k < 0:
        return Item("lane", subject, FAIL, f"{weight:g} g is below the empty lane: check its tare", detail)
    if k > cap:
        return Item(
            "lane",
            subject,
            FAIL,
            f"{weight:g} g is {k} units of {lane.sku}, more than its capacity of {cap}",
            detail,
        )
    return Item(
        "lane", subject, PASS, f"{weight:g} g ≈ {k} × {unit:g} g of {lane.sku} ({k} of {cap})", detail
    )
