"""Catalog operations: create or update (``put_*``) and retire each kind of catalog entry.

The HTTP API and the file loader (``_catalog``) both go through these, in the caller's
transaction; the core then takes the change into effect (``BohCore._catalog_changed``).
Every change is audited as ``catalog.<kind>`` with the fields it changed::

    created   None    ──▶ active
    updated   active  ──▶ active     detail: {"changed": {field: [old, new]}}
    restored  retired ──▶ active     (a put of a retired entry brings it back)
    retired   active  ──▶ retired

Retire rather than delete: alerts, work orders, proposals, stock levels and the audit
trail refer to these rows. Retiring an asset retires its rules and unmaps its sensors;
retiring a location retires its lanes and rejects its proposals not yet ordered; a site,
gateway or SKU that active entries still use is not retired (``CatalogError`` names them).
A device that never reported and is unmapped is deleted (nothing refers to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, func, insert, select, update

from bohsense.contracts.devices import parse_lane_device
from bohsense.contracts.epc import EpcError, gtin_check_digit

from ._catalog_specs import (
    ZONE_KINDS,
    AssetSpec,
    GatewaySpec,
    LocationSpec,
    MaintenanceSpec,
    RuleSpec,
    SiteSpec,
    SkuSpec,
)
from ._domain_events import DomainEvent, emit, lifecycle_kind
from ._effects import condition_rule_key
from ._errors import CatalogError, NotFound
from ._lifecycle import PROPOSAL
from ._models import Base, ReplenishmentProposal, RuleState, SiteZone

__all__ = ["CatalogOps", "Change"]

_T = Base.metadata.tables
SITES, GATEWAYS, SKUS = _T["sites"], _T["gateways"], _T["skus"]
ASSETS, RULES, LOCATIONS = _T["assets"], _T["condition_rules"], _T["stock_locations"]
LANES, DEVICES, ZONES = _T["lanes"], _T["devices"], _T["site_zones"]
GUIDES = _T["maintenance_guides"]
_ZONE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,127}$")  # the contract's Name
_RULE_STATE_RESET = {"phase": "normal"}


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # site / gateway / sku / asset / rule / location / lane / device
    key: str
    action: str  # created / updated / restored / retired / unchanged


class CatalogOps:
    """The operations, bound to one transaction, one actor and one time."""

    def __init__(self, conn: Connection, actor: str, now: int) -> None:
        self.conn = conn
        self.actor = actor
        self.now = now
        self.changes: list[Change] = []

    # -- sites, gateways, SKUs -----------------------------------------------------------

    def put_site(self, spec: SiteSpec, where: str = "site") -> Change:
        _nonempty(spec.id, where, "id")
        seen: set[str] = set()
        for j, z in enumerate(spec.zones):
            zw = f"{where}.zones[{j}]"
            if not _ZONE_NAME.match(z.zone):
                raise CatalogError(
                    f"catalog {zw}: zone {z.zone!r} is not a name readers report"
                    " (letters, digits and _.:/- , at most 128)"
                )
            if z.kind not in ZONE_KINDS:
                raise CatalogError(f"catalog {zw}: kind {z.kind!r} is not one of {', '.join(ZONE_KINDS)}")
            if z.zone in seen:
                raise CatalogError(f"catalog {zw}: zone {z.zone!r} is listed twice")
            seen.add(z.zone)
        change = self._put(SITES, {"id": spec.id}, {"name": spec.name}, "site", spec.id)[0]
        for z in spec.zones:
            self._put(
                ZONES, {"site": spec.id, "zone": z.zone}, {"kind": z.kind}, "zone", f"{spec.id}/{z.zone}"
            )
        c = ZONES.c
        for zone in self.conn.scalars(
            select(c.zone).where(c.site == spec.id, c.retired_ns.is_(None)).order_by(c.zone)
        ).all():
            if zone not in seen:
                self._retire(ZONES, {"site": spec.id, "zone": zone}, "zone", f"{spec.id}/{zone}", [])
        return change

    def retire_site(self, site_id: str) -> Change:
        users = [
            f"{kind} {key}"
            for kind, table, col, key_col in (
                ("gateway", GATEWAYS, GATEWAYS.c.site, GATEWAYS.c.id),
                ("asset", ASSETS, ASSETS.c.site, ASSETS.c.id),
                ("location", LOCATIONS, LOCATIONS.c.site, LOCATIONS.c.location),
            )
            for key in self.conn.scalars(select(key_col).where(col == site_id, table.c.retired_ns.is_(None)))
        ]
        return self._retire(SITES, {"id": site_id}, "site", site_id, users)

    def put_gateway(self, spec: GatewaySpec, where: str = "gateway") -> Change:
        _nonempty(spec.id, where, "id")
        self.check_site(spec.site, where)
        values = {"site": spec.site, "registration": "catalog"}
        return self._put(GATEWAYS, {"id": spec.id}, values, "gateway", spec.id)[0]

    def retire_gateway(self, gateway_id: str) -> Change:
        users = [
            f"lane {d}"
            for d in self.conn.scalars(
                select(LANES.c.device).where(LANES.c.gateway == gateway_id, LANES.c.retired_ns.is_(None))
            )
        ] + [
            f"sensor {d}"
            for d in self.conn.scalars(
                select(DEVICES.c.device).where(DEVICES.c.gateway == gateway_id, DEVICES.c.kind == "asset")
            )
        ]
        return self._retire(GATEWAYS, {"id": gateway_id}, "gateway", gateway_id, users)

    def put_sku(self, spec: SkuSpec, where: str = "sku") -> Change:
        _nonempty(spec.sku, where, "sku")
        if spec.pack_size < 1:
            raise CatalogError(f"catalog {where}: pack_size must be >= 1")
        if spec.gtin:
            check_gtin(spec.gtin, where)
            c = SKUS.c
            other = self.conn.scalar(
                select(c.sku).where(c.gtin == spec.gtin, c.sku != spec.sku, c.retired_ns.is_(None))
            )
            if other is not None:
                raise CatalogError(f"catalog {where}: gtin {spec.gtin} is the GTIN of sku {other!r} already")
        values = {"name": spec.name, "unit": spec.unit, "pack_size": spec.pack_size, "gtin": spec.gtin}
        return self._put(SKUS, {"sku": spec.sku}, values, "sku", spec.sku)[0]

    def retire_sku(self, sku: str) -> Change:
        c = LOCATIONS.c
        users = [
            f"location {site}/{loc}"
            for site, loc in self.conn.execute(
                select(c.site, c.location).where(c.sku == sku, c.retired_ns.is_(None))
            )
        ]
        return self._retire(SKUS, {"sku": sku}, "sku", sku, users)

    # -- maintenance guides ---------------------------------------------------------------

    def put_maintenance(self, spec: MaintenanceSpec, where: str = "maintenance") -> Change:
        """Checks and spare parts for an asset kind and fault type (work orders list them)."""
        if not spec.checks and not spec.spare_parts:
            raise CatalogError(f"catalog {where}: a maintenance guide needs checks or spare_parts")
        for j, c in enumerate(spec.checks):
            _nonempty(c, f"{where}.checks[{j}]", "check")
        parts = []
        for j, (part, quantity) in enumerate(spec.spare_parts):
            _nonempty(part, f"{where}.spare_parts[{j}]", "part")
            if not quantity > 0:
                raise CatalogError(f"catalog {where}.spare_parts[{j}]: quantity must be > 0")
            parts.append({"part": part, "quantity": float(quantity)})
        key = {"kind": spec.kind, "fault": spec.fault}
        values = {"checks": list(spec.checks), "spare_parts": parts}
        return self._put(GUIDES, key, values, "maintenance", _guide_name(spec.kind, spec.fault))[0]

    def retire_maintenance(self, kind: str, fault: str) -> Change:
        return self._retire(
            GUIDES, {"kind": kind, "fault": fault}, "maintenance", _guide_name(kind, fault), []
        )

    # -- assets with rules and sensors ---------------------------------------------------

    def put_asset(self, spec: AssetSpec, where: str = "asset") -> Change:
        _nonempty(spec.id, where, "id")
        self.check_site(spec.site, where)
        rules = [_rule_values(r, f"{where}.rules[{j}]") for j, r in enumerate(spec.rules)]
        sensors: list[tuple[str, str]] = []
        if spec.device is not None:
            if spec.gateway is None:
                raise CatalogError(f"catalog {where}: a device needs its gateway")
            self.check_gateway(spec.gateway, where)
            sensors.append((spec.gateway, spec.device))
        values: dict[str, Any] = {"site": spec.site, "name": spec.name, "kind": spec.kind}
        if spec.recipients is not None:
            for j, r in enumerate(spec.recipients):
                _nonempty(r, f"{where}.recipients[{j}]", "recipient")
            values["recipients"] = list(spec.recipients)
        change = self._put(ASSETS, {"id": spec.id}, values, "asset", spec.id)[0]
        listed = set()
        for condition, rule in rules:
            listed.add(condition)
            key = {"asset_id": spec.id, "condition": condition}
            rule_change, rule_id = self._put(RULES, key, rule, "rule", f"{spec.id}/{condition}")
            if rule_change.action == "restored":  # it watches afresh (never rewound: seen_until_ns stays)
                self.conn.execute(update(RULES).where(_match(RULES, key)).values(**_RULE_STATE_RESET))
                self.conn.execute(
                    update(RuleState)
                    .where(RuleState.rule_id == condition_rule_key(rule_id))
                    .values(state=None, updated_ns=self.now)
                )
        c = RULES.c
        for condition in self.conn.scalars(
            select(c.condition).where(c.asset_id == spec.id, c.retired_ns.is_(None)).order_by(c.condition)
        ):
            if condition not in listed:
                key = {"asset_id": spec.id, "condition": condition}
                self._retire(RULES, key, "rule", f"{spec.id}/{condition}", [])
        for gateway, device in sensors:
            self._map_device(gateway, device, {"kind": "asset", "asset_id": spec.id, "lane_id": None}, where)
        d = DEVICES.c
        for gateway, device in self.conn.execute(
            select(d.gateway, d.device).where(d.asset_id == spec.id).order_by(d.gateway, d.device)
        ):
            if (gateway, device) not in sensors:
                self.unmap_device(gateway, device)
        return change

    def retire_asset(self, asset_id: str) -> Change:
        if self.conn.scalar(select(ASSETS.c.id).where(ASSETS.c.id == asset_id)) is None:
            raise NotFound("asset", asset_id)
        c = RULES.c
        for condition in self.conn.scalars(
            select(c.condition).where(c.asset_id == asset_id, c.retired_ns.is_(None)).order_by(c.condition)
        ):
            self._retire(
                RULES, {"asset_id": asset_id, "condition": condition}, "rule", f"{asset_id}/{condition}", []
            )
        d = DEVICES.c
        for gateway, device in self.conn.execute(
            select(d.gateway, d.device).where(d.asset_id == asset_id)
        ).all():
            self.unmap_device(gateway, device)
        return self._retire(ASSETS, {"id": asset_id}, "asset", asset_id, [])

    # -- stock locations with lanes ------------------------------------------------------

    def put_location(self, spec: LocationSpec, where: str = "location") -> tuple[Change, int]:
        _nonempty(spec.location, where, "location")
        self.check_site(spec.site, where)
        if (
            self.conn.scalar(select(SKUS.c.sku).where(SKUS.c.sku == spec.sku, SKUS.c.retired_ns.is_(None)))
            is None
        ):
            raise CatalogError(f"catalog {where}: unknown sku {spec.sku!r}")
        low, target, safety = float(spec.min), float(spec.target), float(spec.safety_stock)
        if target < low:
            raise CatalogError(f"catalog {where}: target ({target}) must be >= min ({low})")
        if not 0 <= safety <= low:
            raise CatalogError(
                f"catalog {where}: safety_stock ({safety}) must not exceed min ({low}), the reorder point"
                " it is part of, nor be negative"
            )
        for j, lane in enumerate(spec.lanes):
            check_lane_name(lane.device, f"{where}.lanes[{j}]")
            self.check_gateway(lane.gateway, f"{where}.lanes[{j}]")
        for name, text, most in (
            ("aisle", spec.aisle, 64),
            ("shelf", spec.shelf, 64),
            ("zone", spec.zone, 128),
        ):
            if len(text) > most:
                raise CatalogError(f"catalog {where}: {name} is longer than {most} characters")
        if spec.zone:
            z = SiteZone.__table__.c
            known = self.conn.scalar(
                select(z.zone).where(z.site == spec.site, z.zone == spec.zone, z.retired_ns.is_(None))
            )
            if known is None:
                raise CatalogError(f"catalog {where}: zone {spec.zone!r} is not a zone of site {spec.site!r}")
        key = {"site": spec.site, "sku": spec.sku, "location": spec.location}
        values: dict[str, Any] = {"min_units": low, "target_units": target, "safety_stock": safety}
        values.update({"aisle": spec.aisle, "shelf": spec.shelf, "zone": spec.zone})
        change, loc_id = self._put(
            LOCATIONS, key, values, "location", f"{spec.site}/{spec.sku}/{spec.location}"
        )
        listed = {(lane.gateway, lane.device) for lane in spec.lanes}
        for j, lane in enumerate(spec.lanes):
            lane_key = {"gateway": lane.gateway, "device": lane.device}
            _, lane_id = self._put(
                LANES, lane_key, {"location_id": loc_id}, "lane", f"{lane.gateway}/{lane.device}"
            )
            self._map_device(
                lane.gateway,
                lane.device,
                {"kind": "lane", "asset_id": None, "lane_id": lane_id},
                f"{where}.lanes[{j}]",
            )
        c = LANES.c
        for gateway, device in self.conn.execute(
            select(c.gateway, c.device).where(c.location_id == loc_id, c.retired_ns.is_(None)).order_by(c.id)
        ).all():
            if (gateway, device) not in listed:
                self._retire_lane(gateway, device)
        return change, loc_id

    def retire_location(self, location_id: int) -> Change:
        row = self.conn.execute(select(LOCATIONS).where(LOCATIONS.c.id == location_id)).one_or_none()
        if row is None:
            raise NotFound("location", location_id)
        c = LANES.c
        for gateway, device in self.conn.execute(
            select(c.gateway, c.device).where(c.location_id == location_id, c.retired_ns.is_(None))
        ).all():
            self._retire_lane(gateway, device)
        p = ReplenishmentProposal.__table__.c
        for pid, state in self.conn.execute(
            select(p.id, p.state)
            .where(p.location_id == location_id, p.state.in_(("proposed", "approved")))
            .with_for_update()
        ).all():
            PROPOSAL.check(pid, state, "rejected")
            self.conn.execute(
                update(ReplenishmentProposal).where(p.id == pid).values(state="rejected", updated_ns=self.now)
            )
            self._audit(
                PROPOSAL.entity, str(pid), state, "rejected", {"note": "the stock location was retired"}
            )
        return self._retire(
            LOCATIONS, {"id": location_id}, "location", f"{row.site}/{row.sku}/{row.location}", []
        )

    def _retire_lane(self, gateway: str, device: str) -> None:
        self._retire(LANES, {"gateway": gateway, "device": device}, "lane", f"{gateway}/{device}", [])
        self.unmap_device(gateway, device)
        location_id = self.conn.scalar(
            select(LANES.c.location_id).where(LANES.c.gateway == gateway, LANES.c.device == device)
        )
        self._restock(location_id)

    def _restock(self, location_id: int | None) -> None:
        """The location's stock level without its retired lanes (none when no lane has reported)."""
        if location_id is None:
            return
        c = LANES.c
        total, latest = self.conn.execute(
            select(func.sum(c.units), func.max(c.units_ts_ns)).where(
                c.location_id == location_id, c.units.is_not(None), c.retired_ns.is_(None)
            )
        ).one()
        levels = Base.metadata.tables["stock_levels"]
        if total is None or latest is None:
            self.conn.execute(delete(levels).where(levels.c.location_id == location_id))
        else:
            self.conn.execute(
                update(levels)
                .where(levels.c.location_id == location_id)
                .values(units=float(total), as_of_ns=int(latest))
            )

    # -- devices -------------------------------------------------------------------------

    def _map_device(self, gateway: str, device: str, mapping: dict[str, Any], where: str) -> None:
        d = DEVICES.c
        row = self.conn.execute(select(DEVICES).where(d.gateway == gateway, d.device == device)).one_or_none()
        if row is not None and row.kind not in ("unknown", mapping["kind"]):
            feeds = f"asset {row.asset_id!r}" if row.kind == "asset" else "a lane"
            raise CatalogError(
                f"catalog {where}: device {device!r} on gateway {gateway!r} already feeds {feeds}:"
                " retire that first (a device feeds one lane or one asset)"
            )
        if (
            row is not None
            and row.kind == "asset"
            and mapping["kind"] == "asset"
            and row.asset_id != mapping["asset_id"]
        ):
            raise CatalogError(
                f"catalog {where}: device {device!r} on gateway {gateway!r} already feeds asset {row.asset_id!r}"
            )
        self._put(
            DEVICES,
            {"gateway": gateway, "device": device},
            mapping,
            "device",
            f"{gateway}/{device}",
            audit_create=True,
        )

    def unmap_device(self, gateway: str, device: str) -> Change:
        """The device no longer feeds anything: kept (as unmapped) when it ever reported."""
        d = DEVICES.c
        where = and_(d.gateway == gateway, d.device == device)
        row = self.conn.execute(select(DEVICES).where(where)).one_or_none()
        if row is None:
            raise NotFound("device", f"{gateway}/{device}")
        if row.kind == "unknown":
            return self._note(Change("device", f"{gateway}/{device}", "unchanged"))
        if (
            row.lane_id is not None
            and self.conn.scalar(select(LANES.c.retired_ns).where(LANES.c.id == row.lane_id)) is None
        ):
            self._retire(LANES, {"id": row.lane_id}, "lane", f"{gateway}/{device}", [])
            self._restock(self.conn.scalar(select(LANES.c.location_id).where(LANES.c.id == row.lane_id)))
        if row.first_seen_ns is None:
            self.conn.execute(delete(DEVICES).where(where))
        else:
            self.conn.execute(
                update(DEVICES).where(where).values(kind="unknown", asset_id=None, lane_id=None)
            )
        self._audit("catalog.device", f"{gateway}/{device}", "active", "retired", {"was": row.kind})
        return self._note(Change("device", f"{gateway}/{device}", "retired"))

    # -- checks --------------------------------------------------------------------------

    def check_site(self, site: str, where: str) -> None:
        c = SITES.c
        if self.conn.scalar(select(c.id).where(c.id == site, c.retired_ns.is_(None))) is None:
            raise CatalogError(f"catalog {where}: unknown site {site!r}")

    def check_gateway(self, gateway: str, where: str) -> None:
        c = GATEWAYS.c
        found = self.conn.scalar(
            select(c.id).where(c.id == gateway, c.registration != "pending", c.retired_ns.is_(None))
        )
        if found is None:
            raise CatalogError(
                f"catalog {where}: gateway {gateway!r} is not declared: add it to [[gateways]] with"
                " its site (the catalog says which gateways exist and where)"
            )

    # -- the generic put / retire with audit ---------------------------------------------

    def _put(
        self,
        table: Table,
        key: dict[str, Any],
        values: dict[str, Any],
        kind: str,
        entity_id: str,
        *,
        audit_create: bool = True,
    ) -> tuple[Change, Any]:
        match = _match(table, key)
        (pk,) = table.primary_key.columns
        row = self.conn.execute(select(table).where(match).with_for_update()).one_or_none()
        retirable = "retired_ns" in table.c
        if row is None:
            new = self.conn.execute(insert(table).values(**key, **values).returning(pk)).scalar_one()
            if audit_create:
                self._audit(f"catalog.{kind}", entity_id, None, "active", {"values": values})
            return self._note(Change(kind, entity_id, "created")), new
        changed = {k: [row._mapping[k], v] for k, v in values.items() if row._mapping[k] != v}
        restored = retirable and row.retired_ns is not None
        if not changed and not restored:
            return self._note(Change(kind, entity_id, "unchanged")), row._mapping[pk.name]
        extra = {"retired_ns": None} if retirable else {}
        self.conn.execute(update(table).where(match).values(**values, **extra))
        self._audit(
            f"catalog.{kind}", entity_id, "retired" if restored else "active", "active", {"changed": changed}
        )
        return self._note(Change(kind, entity_id, "restored" if restored else "updated")), row._mapping[
            pk.name
        ]

    def _retire(
        self, table: Table, key: dict[str, Any], kind: str, entity_id: str, users: list[str]
    ) -> Change:
        match = _match(table, key)
        row = self.conn.execute(select(table.c.retired_ns).where(match).with_for_update()).one_or_none()
        if row is None:
            raise NotFound(kind, entity_id)
        if row.retired_ns is not None:
            return self._note(Change(kind, entity_id, "unchanged"))
        if users:
            raise CatalogError(
                f"catalog: {kind} {entity_id!r} is still used by {', '.join(users)}: retire those first"
            )
        self.conn.execute(update(table).where(match).values(retired_ns=self.now))
        self._audit(f"catalog.{kind}", entity_id, "active", "retired", {})
        return self._note(Change(kind, entity_id, "retired"))

    def _audit(self, entity: str, entity_id: str, frm: str | None, to: str, detail: dict[str, Any]) -> None:
        if entity.startswith("catalog."):
            verb = (
                "created"
                if frm is None
                else "retired"
                if to == "retired"
                else "restored"
                if frm == "retired"
                else "updated"
            )
            kind = f"{entity}.{verb}"
        else:  # a lifecycle move the catalog makes (a retired location's proposals rejected)
            kind = lifecycle_kind(entity, frm, to)
        emit(self.conn, DomainEvent(kind, entity, entity_id, frm, to, self.now, self.actor, detail))

    def _note(self, change: Change) -> Change:
        self.changes.append(change)
        return change


def check_lane_name(device: str, where: str) -> None:
    if parse_lane_device(device) is None:
        raise CatalogError(
            f"catalog {where}: device {device!r} is not a lane: shelves report each lane as"
            " '<device id>.lane-<n>' (n from 1; the device id is the shelf's HELLO id or the"
            " gateway configuration's device_id), e.g. 'shelf-01.lane-1'"
        )


def check_gtin(gtin: str, where: str) -> None:
    """A GTIN-14: 14 digits, the last the GS1 check digit of the others."""
    if len(gtin) != 14 or not gtin.isascii() or not gtin.isdigit():
        raise CatalogError(f"catalog {where}: gtin {gtin!r} is not 14 digits (a GTIN-14, zero-padded)")
    try:
        check = gtin_check_digit(gtin[:13])
    except EpcError as exc:  # pragma: no cover - the digits are checked above
        raise CatalogError(f"catalog {where}: gtin {gtin!r}: {exc}") from exc
    if int(gtin[13]) != check:
        raise CatalogError(f"catalog {where}: gtin {gtin} ends in {gtin[13]}, its check digit is {check}")


def _guide_name(kind: str, fault: str) -> str:
    return f"{kind or '*'}/{fault or '*'}"


def _nonempty(value: str, where: str, field: str) -> None:
    if not value:
        raise CatalogError(f"catalog {where}: field {field!r} is empty")


def _match(table: Table, key: dict[str, Any]) -> Any:
    return and_(*(table.c[k] == v for k, v in key.items()))


def _rule_values(r: RuleSpec, where: str) -> tuple[str, dict[str, Any]]:
    _nonempty(r.condition, where, "condition")
    if r.engine == "detector":
        return r.condition, _detector_values(r, where)
    if r.engine != "threshold":
        raise CatalogError(f"catalog {where}: engine {r.engine!r} is not one of threshold, detector")
    if r.metrics or r.model:
        raise CatalogError(f'catalog {where}: metrics and model are for engine = "detector"')
    _nonempty(r.metric, where, "metric")
    limit = float(r.limit)
    clear = float(r.clear_below) if r.clear_below is not None else limit
    duration = float(r.min_duration_s)
    if clear > limit:
        raise CatalogError(f"catalog {where}: clear_below ({clear}) must not exceed limit ({limit})")
    if duration < 0:
        raise CatalogError(f"catalog {where}: min_duration_s must be >= 0")
    return r.condition, {
        "metric": r.metric,
        "limit_value": limit,
        "clear_below": clear,
        "min_duration_s": duration,
        "severity": r.severity,
        "what_to_check": r.what_to_check,
        "engine": "threshold",
        "metrics": [],
        "model": "",
    }


def _detector_values(r: RuleSpec, where: str) -> dict[str, Any]:
    """A detector rule: its model file, the metrics it watches, score thresholds (0: the model's)."""
    _nonempty(r.model, where, "model")
    if not r.metrics:
        raise CatalogError(f"catalog {where}: a detector rule needs its metrics")
    for j, m in enumerate(r.metrics):
        _nonempty(m, f"{where}.metrics[{j}]", "metric")
    if len(set(r.metrics)) != len(r.metrics):
        raise CatalogError(f"catalog {where}: metrics are listed twice")
    on = float(r.limit)
    off = float(r.clear_below) if r.clear_below is not None else 0.0
    if not (0.0 <= on < 1.0 and 0.0 <= off < 1.0) or (on and off > on):
        raise CatalogError(
            f"catalog {where}: a detector's limit and clear_below are scores in [0, 1) "
            f"(0: the model's) with clear_below <= limit, got {on} and {off}"
        )
    if r.min_duration_s < 0:
        raise CatalogError(f"catalog {where}: min_duration_s must be >= 0")
    return {
        "metric": ",".join(r.metrics)[:128],
        "limit_value": on,
        "clear_below": off,
        "min_duration_s": float(r.min_duration_s),
        "severity": r.severity,
        "what_to_check": r.what_to_check,
        "engine": "detector",
        "metrics": list(r.metrics),
        "model": r.model,
    }
