"""Applying batches of readings: dedup on (gateway, seq), watermarks, device registration.

Everything of one ``apply`` call happens in the caller's transaction. The gateway rows are
locked first (by id), so concurrent workers serialise per gateway and never apply one seq
twice; what the readings change is in ``_effects`` (which locks lanes and rules next).
Seqs at or below a gateway's watermark are represented by the watermark alone; only seqs
above it (gaps not yet filled) get an ``ingest_seq`` row, pruned as the watermark passes.
A batch's ``floor`` settles the seqs below it, but never more than the batch's own seq can
justify (a floor is capped at its seq, whatever the decoder let through).

The in-memory caches (gateways and devices known to exist) change only after the
transaction commits: ``apply`` returns what it learnt (``Learnt``) and the caller hands it to
``learn`` once committed, so a rolled-back call leaves no trace in them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from math import isfinite
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from bohsense.contracts.codec import decode_batch, encode
from bohsense.contracts.schema import ReadingBatch
from bohsense.contracts.topics import readings_topic

from ..ports import ApplyOutcome, BatchEvents
from ._alerts import AlertPolicy
from ._cache import Cache, DeviceMap, load_cache
from ._db import conflict_insert
from ._decisions import Executor
from ._effects import Effects
from ._handlers import AlarmReported, Dispatched, EventContext, EventHandlers
from ._models import Device, Gateway, IngestSeq, QuarantineRow
from ._proposals import ProposalPolicy
from ._stock_truth import LaneSensed, StockSettings, StockTruth, TagsMoved
from .rules import ConditionEngine, DetectorCondition, ModelRegistry, StockEngine

__all__ = ["AUTO", "PENDING", "UNKNOWN_GATEWAY", "Applier", "Learnt"]

#: gateway registrations (``Gateway.registration``); "catalog" is the third
PENDING = "pending"
AUTO = "auto"
#: quarantine reason of a batch held because its gateway is not registered
UNKNOWN_GATEWAY = "unknown-gateway"

# Statements built once: the apply path runs thousands of times per second.
_LOCK_GATEWAYS = (
    select(Gateway.id, Gateway.watermark)
    .where(Gateway.id.in_(bindparam("ids", expanding=True)))
    .order_by(Gateway.id)
    .with_for_update()
)
_GAPS = select(IngestSeq.gateway, IngestSeq.seq).where(
    IngestSeq.gateway.in_(bindparam("ids", expanding=True))
)
_PRUNE = delete(IngestSeq).where(IngestSeq.gateway == bindparam("b_gw"), IngestSeq.seq <= bindparam("b_mark"))
_MOVE_WATERMARK = (
    update(Gateway)
    .where(Gateway.id == bindparam("b_gw"))
    .values(watermark=bindparam("b_mark"))
    .execution_options(synchronize_session=False)
)

#: ``Connection.info`` key of the stock locations the current batch's events touched
_TOUCHED = "bohsense_stock_touched"
#: ``units`` readings of a lane sensor set the lane's stock
UNITS_METRIC = "units"
#: a device's ``last_seen`` is written when it moves by more than this (event time)
LAST_SEEN_RESOLUTION_NS = 10 * 1_000_000_000


@dataclass(slots=True)
class Learnt:
    """What one ``apply`` call found to exist, for the caches once its transaction committed."""

    #: gateways found registered (by the catalog, or auto-registered)
    trusted: set[str] = field(default_factory=set)
    last_seen: dict[tuple[str, str], int] = field(default_factory=dict)


class Applier:
    """Applies batches; holds the catalog mappings in memory (see ``refresh``)."""

    def __init__(
        self,
        condition_engine: ConditionEngine,
        stock_engine: StockEngine,
        clock: Callable[[], int],
        cache_ttl_s: float = 30.0,
        auto_register: bool = False,
        escalation_after_s: Mapping[str, float] | None = None,
        handlers: EventHandlers | None = None,
        proposal_policy: ProposalPolicy | None = None,
        stock_settings: StockSettings | None = None,
        alert_policy: AlertPolicy | None = None,
        models: ModelRegistry | None = None,
    ) -> None:
        self._effects = Effects(
            condition_engine,
            stock_engine,
            escalation_after_s,
            proposal_policy,
            stock_settings,
            alert_policy=alert_policy,
            detector_engine=DetectorCondition(models if models is not None else ModelRegistry()),
        )
        #: event kind -> handler, run for the events of new batches (``_handlers``)
        self.handlers = handlers if handlers is not None else EventHandlers()
        if self.handlers.decide is None:  # what handlers decide goes through the decision table
            self.handlers.decide = self._decide
        self._clock = clock
        self._ttl = cache_ttl_s
        self._auto_register = auto_register
        self._cache = Cache()
        self._trusted: set[str] = set()  # gateways registered by the catalog (or auto-registered)
        self._last_seen: dict[tuple[str, str], int] = {}  # devices known to exist, with last_seen written

    @property
    def auto_register(self) -> bool:
        """Whether a gateway that reports is trusted at the site it claims (demo and dev mode)."""
        return self._auto_register

    def invalidate(self) -> None:
        """Reload the cache before the next batch (a rule's feedback changed its parameters)."""
        self._cache.loaded_at = float("-inf")

    def stale(self) -> bool:
        return time.monotonic() - self._cache.loaded_at > self._ttl

    def refresh(self, conn: Connection) -> None:
        """Reload device mappings, rule parameters, stock locations and registered gateways."""
        cache = load_cache(conn)
        self._trusted = set(
            conn.scalars(
                select(Gateway.id).where(Gateway.registration != PENDING, Gateway.retired_ns.is_(None))
            )
        )
        self._cache = cache

    def _register(
        self, conn: Connection, gateways: list[str], by_gw: dict[str, list[ReadingBatch]], learnt: Learnt
    ) -> set[str]:
        """Look up (or record) gateways not known as registered; return those still pending.

        An unknown gateway is recorded ``pending`` with the site it claims kept apart
        (``claimed_site``), or ``auto`` with that site in auto-register mode.
        """
        reg = Gateway.__table__.c
        lookup = select(reg.id, reg.registration, reg.retired_ns).where(reg.id.in_(gateways))
        found = {g: PENDING if retired is not None else r for g, r, retired in conn.execute(lookup)}
        missing = [g for g in gateways if g not in found]
        if missing:
            state = AUTO if self._auto_register else PENDING
            rows = [
                {
                    "id": g,
                    "site": by_gw[g][-1].site if self._auto_register else "",
                    "claimed_site": by_gw[g][-1].site,
                    "registration": state,
                }
                for g in missing
            ]
            conn.execute(conflict_insert(conn, Gateway).on_conflict_do_nothing(), rows)
            found.update({g: PENDING if retired is not None else r for g, r, retired in conn.execute(lookup)})
        learnt.trusted.update(g for g in gateways if found[g] != PENDING)
        return {g for g in gateways if found[g] == PENDING}

    # -- the call ------------------------------------------------------------------------

    def learn(self, learnt: Learnt) -> None:
        """Take in what a committed ``apply`` call found (never call it after a rollback)."""
        self._trusted |= learnt.trusted
        self._last_seen.update(learnt.last_seen)

    def apply(
        self, conn: Connection, batches: Sequence[ReadingBatch], events: BatchEvents | None = None
    ) -> tuple[ApplyOutcome, Learnt]:
        now = self._clock()
        learnt = Learnt()
        by_gw: dict[str, list[ReadingBatch]] = {}
        for b in batches:
            by_gw.setdefault(b.gateway, []).append(b)
        gateways = sorted(by_gw)
        unknown = [g for g in gateways if g not in self._trusted]
        pending = self._register(conn, unknown, by_gw, learnt) if unknown else set()
        marks: dict[str, int] = {g: wm for g, wm in conn.execute(_LOCK_GATEWAYS, {"ids": gateways})}
        # the gaps above every watermark, in one query (the table holds only those)
        gaps: dict[str, set[int]] = {}
        for g, seq in conn.execute(_GAPS, {"ids": gateways}):
            gaps.setdefault(g, set()).add(seq)
        fresh: list[ReadingBatch] = []
        duplicates = 0
        keep: list[dict[str, Any]] = []
        pruned: list[dict[str, Any]] = []
        moved: list[dict[str, Any]] = []
        for g in gateways:
            wm = marks[g]
            above = {s for s in gaps.get(g, ()) if s > wm}
            new: set[int] = set()
            floor = 0
            for b in by_gw[g]:
                floor = max(floor, min(b.floor, b.seq))
                if b.seq <= wm or b.seq in above or b.seq in new:
                    duplicates += 1
                    continue
                new.add(b.seq)
                fresh.append(b)
            recorded = above | new
            mark = max(wm, floor - 1)
            while mark + 1 in recorded:
                mark += 1
            keep.extend({"gateway": g, "seq": s} for s in sorted(new) if s > mark)
            if g in gaps and min(gaps[g]) <= mark:
                pruned.append({"b_gw": g, "b_mark": mark})
            if mark != wm:
                moved.append({"b_gw": g, "b_mark": mark})
            marks[g] = mark
        if keep:
            conn.execute(insert(IngestSeq), keep)
        if pruned:
            conn.execute(_PRUNE, pruned)
        if moved:
            conn.execute(_MOVE_WATERMARK, moved)
        held = [b for b in fresh if b.gateway in pending]
        if held:
            fresh = [b for b in fresh if b.gateway not in pending]
            conn.execute(insert(QuarantineRow), [_held_row(b, now) for b in held])
        readings = self.apply_readings(conn, fresh, now, learnt) if fresh else 0
        dispatched = self.dispatch(conn, fresh, events, now) if fresh else None
        outcome = ApplyOutcome(
            applied=len(fresh),
            duplicates=duplicates,
            readings_applied=readings,
            events_applied=dispatched.stored if dispatched is not None else 0,
            held=len(held),
            watermarks=marks,
        )
        return outcome, learnt

    def revise_proposals(self, conn: Connection) -> None:
        """Let the rule re-size unapproved proposals after a catalog change (new parameters)."""
        self._effects.revise(conn, self._cache, self._clock())

    def _decide(self, ctx: EventContext, decisions: Sequence[object]) -> None:
        for d in decisions:
            if isinstance(d, AlarmReported):
                self.executor.alarm(ctx.conn, d, ctx.now)
            elif isinstance(d, LaneSensed):
                self._touch(ctx, self.truth.lane(ctx.conn, self._cache, d, ctx.now))
            elif isinstance(d, TagsMoved):
                self._touch(ctx, self.truth.tags(self._cache, d))

    def dispatch(
        self, conn: Connection, batches: Sequence[ReadingBatch], events: BatchEvents | None, now: int
    ) -> Dispatched:
        """Store and handle the batches' events; the stock locations they touched are sensed
        again once per batch (``_touch``), after its last event."""
        conn.info.pop(_TOUCHED, None)
        try:
            done = self.handlers.dispatch(conn, batches, events, now)
        except BaseException:
            conn.info.pop(_TOUCHED, None)
            raise
        held = conn.info.pop(_TOUCHED, None)
        if held is not None:
            self.sense(conn, sorted(held[1]), now)
        return done

    def _touch(self, ctx: EventContext, loc_ids: Sequence[int]) -> None:
        """Keep the locations an event touched; sense those of the previous batch first."""
        key = (ctx.gateway, ctx.seq)
        held: tuple[tuple[str, int], set[int]] | None = ctx.conn.info.get(_TOUCHED)
        if held is not None and held[0] != key:
            self.sense(ctx.conn, sorted(held[1]), ctx.now)
            held = None
        if held is None:
            held = (key, set())
            ctx.conn.info[_TOUCHED] = held
        held[1].update(loc_ids)

    @property
    def truth(self) -> StockTruth:
        """The stock truth (``_stock_truth``): sensing, fusion, the stock sweep."""
        return self._effects.truth

    def sense(self, conn: Connection, loc_ids: Sequence[int], now: int) -> None:
        """Make the locations' one number again, into their stock levels and the stock rule."""
        if loc_ids:
            self._effects.apply_levels(
                conn, self._cache, self.truth.sense(conn, self._cache, loc_ids, now), now
            )

    @property
    def cache(self) -> Cache:
        return self._cache

    @property
    def executor(self) -> Executor:
        """The executor of decisions (``_decisions``), with the escalation delays."""
        return self._effects.executor

    def release_held(self, conn: Connection, learnt: Learnt, gateway: str | None = None) -> dict[str, int]:
        """Apply the held batches of gateways registered since, in seq order; drop them from quarantine.

        Their seqs were recorded when they arrived, so they are applied here exactly once;
        event time keeps them from overwriting anything newer. Returns gateway -> batches.
        """
        q = QuarantineRow.__table__.c
        registered = select(Gateway.id).where(Gateway.registration != PENDING, Gateway.retired_ns.is_(None))
        held = select(q.id, q.gateway, q.payload).where(
            q.reason == UNKNOWN_GATEWAY, q.gateway.in_(registered)
        )
        if gateway is not None:
            held = held.where(q.gateway == gateway)
        rows = conn.execute(held.order_by(q.id)).all()
        if not rows:
            return {}
        batches = sorted((decode_batch(bytes(r.payload)) for r in rows), key=lambda b: (b.gateway, b.seq))
        self.apply_readings(conn, batches, self._clock(), learnt)
        self.dispatch(conn, batches, None, self._clock())
        conn.execute(delete(QuarantineRow).where(q.id.in_([r.id for r in rows])))
        released: dict[str, int] = {}
        for r in rows:
            released[r.gateway] = released.get(r.gateway, 0) + 1
        return released

    def apply_readings(
        self, conn: Connection, batches: Sequence[ReadingBatch], now: int, learnt: Learnt
    ) -> int:
        """Stock and rule effects of the readings, and which devices were seen when.

        A batch is first reduced to the set of its devices (a C-speed pass); only the
        readings of devices the catalog maps to a lane or an asset are looked at one by
        one. A device's first/last seen time is the batch's first/last reading time: a
        batch spans a fraction of a second, well inside ``LAST_SEEN_RESOLUTION_NS``.
        """
        devices = self._cache.devices
        detectors = self._cache.detector_rules
        lanes: dict[int, tuple[int, float]] = {}
        points: dict[int, list[Any]] = {}
        seen: dict[tuple[str, str], list[int]] = {}
        count = 0
        for b in batches:
            rd = b.readings
            if not rd:
                continue
            g = b.gateway
            count += len(rd)
            t_first, t_last = rd[0].ts, rd[-1].ts
            if t_first > t_last:
                t_first, t_last = t_last, t_first
            mapped: dict[str, DeviceMap] = {}
            for d in {r.device for r in rd}:
                key = (g, d)
                s = seen.get(key)
                if s is None:
                    seen[key] = [t_first, t_last]
                else:
                    s[0] = min(s[0], t_first)
                    s[1] = max(s[1], t_last)
                m = devices.get(key)
                if m is not None:
                    mapped[d] = m
            if not mapped:
                continue
            for r in rd:
                m = mapped.get(r.device)
                if m is None:
                    continue
                value = r.value
                if not isfinite(value):  # NaN / inf: no stock level or rule can use it
                    continue
                ts = r.ts
                if m.lane_id is not None and r.metric == UNITS_METRIC:
                    cur = lanes.get(m.lane_id)
                    if cur is None or ts > cur[0]:
                        lanes[m.lane_id] = (ts, value)
                rule_ids = m.rules.get(r.metric)
                if rule_ids:
                    for rid in rule_ids:  # a detector rule takes the metric with the point
                        pt = (ts, r.metric, value) if rid in detectors else (ts, value)
                        points.setdefault(rid, []).append(pt)
        self._touch_devices(conn, seen, learnt)
        if lanes:
            self._effects.apply_lanes(conn, self._cache, lanes, now)
        if points:
            self._effects.apply_conditions(conn, self._cache, points, now)
        return count

    def _touch_devices(
        self, conn: Connection, seen: dict[tuple[str, str], list[int]], learnt: Learnt
    ) -> None:
        known = self._last_seen
        new = [k for k in seen if k not in known]
        if new:
            stmt = conflict_insert(conn, Device).on_conflict_do_nothing()
            rows = [
                {"gateway": g, "device": d, "first_seen_ns": seen[(g, d)][0], "last_seen_ns": seen[(g, d)][1]}
                for g, d in new
            ]
            conn.execute(stmt, rows)
        moved: list[dict[str, Any]] = [
            {"b_gw": k[0], "b_dev": k[1], "b_first": v[0], "b_last": v[1]}
            for k, v in seen.items()
            if k not in known or v[1] > known[k] + LAST_SEEN_RESOLUTION_NS
        ]
        if moved:
            last = func.coalesce(Device.last_seen_ns, 0)
            first = Device.first_seen_ns
            conn.execute(
                update(Device)
                .where(Device.gateway == bindparam("b_gw"), Device.device == bindparam("b_dev"))
                .values(
                    last_seen_ns=func.max(last, bindparam("b_last"))
                    if conn.dialect.name == "sqlite"
                    else func.greatest(last, bindparam("b_last")),
                    first_seen_ns=func.coalesce(first, bindparam("b_first")),
                )
                .execution_options(synchronize_session=False),
                moved,
            )
        for row in moved:
            learnt.last_seen[(row["b_gw"], row["b_dev"])] = row["b_last"]


def _held_row(b: ReadingBatch, now: int) -> dict[str, Any]:
    payload = encode(b)
    return {
        "topic": readings_topic(b.gateway),
        "gateway": b.gateway,
        "reason": UNKNOWN_GATEWAY,
        "detail": (
            f"gateway {b.gateway!r} is not in the catalog (claims site {b.site!r}): batch seq {b.seq}"
            f" ({len(b.readings)} readings) is held until the catalog registers the gateway"
        ),
        "payload": payload,
        "payload_size": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "received_ns": now,
    }
