"""What a maintenance work order raised by an alert carries: evidence, checks, spare parts.

The evidence is the alert's, arranged for the technician: the fault and how it was
decided (the threshold rule's metric and limit, or the detector's score against its
threshold and the model version), the diagnosis with its evidence (which defect
frequency, how far above the asset's baseline), the envelope / band features of the
observation that confirmed it, and the feature trend before it (the last observations
the rule was fed, oldest first).

Checks and spare parts come from the catalog's maintenance guides (``[[maintenance]]``),
matched on the asset's kind and the alert's fault type, most specific first:
``(kind, fault)``, ``(kind, "")``, ``("", fault)``, ``("", "")``; the rule's own
``what_to_check`` is the first check. Duplicates are listed once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from ._models import Asset, MaintenanceGuide

__all__ = ["WorkOrderContent", "guides_for", "work_order_content"]


@dataclass(frozen=True, slots=True)
class WorkOrderContent:
    title: str
    description: str
    evidence: dict[str, Any]
    checks: list[str] = field(default_factory=list)
    spare_parts: list[dict[str, Any]] = field(default_factory=list)


def guides_for(conn: Connection, kind: str, fault: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Checks and spare parts of the maintenance guides matching ``kind`` and ``fault``."""
    g = MaintenanceGuide.__table__.c
    rows = {
        (r.kind, r.fault): r
        for r in conn.execute(
            select(g.kind, g.fault, g.checks, g.spare_parts).where(
                g.retired_ns.is_(None), g.kind.in_({kind, ""}), g.fault.in_({fault, ""})
            )
        )
    }
    checks: list[str] = []
    parts: list[dict[str, Any]] = []
    for key in ((kind, fault), (kind, ""), ("", fault), ("", "")):
        r = rows.get(key)
        if r is None:
            continue
        checks += [c for c in r.checks if c not in checks]
        parts += [p for p in r.spare_parts if p.get("part") not in {q.get("part") for q in parts}]
    return checks, parts


def work_order_content(conn: Connection, alert: Any) -> WorkOrderContent:
    asset = conn.execute(select(Asset.name, Asset.kind).where(Asset.id == alert.asset_id)).one()
    ev: dict[str, Any] = dict(alert.evidence or {})
    checks, parts = guides_for(conn, asset.kind or "", alert.condition)
    if alert.what_to_check and alert.what_to_check not in checks:
        checks = [alert.what_to_check, *checks]
    what = asset.name or alert.asset_id
    if ev.get("engine") == "detector":
        diagnosis = ev.get("diagnosis") or {}
        label = diagnosis.get("label")
        decided = (
            f"anomaly score {ev.get('score')} >= threshold {ev.get('threshold')} for "
            f"{float(ev.get('duration_s', 0)):.0f} s (model {ev.get('model')}; top features "
            f"{', '.join(ev.get('top_metrics', []))})"
        )
        if label and label != "undiagnosed":
            best = (diagnosis.get("classes") or {}).get(label, {})
            decided += (
                f"; diagnosed {label}: {best.get('metric')} {best.get('db_above_baseline')} dB above "
                "the asset's baseline"
            )
        evidence = {
            "fault": alert.condition,
            "decided_by": "detector",
            "model": ev.get("model"),
            "first_over_ns": ev.get("first_over_ns"),
            "confirmed_ns": ev.get("confirmed_ns"),
            "score": ev.get("score"),
            "threshold": ev.get("threshold"),
            "duration_s": ev.get("duration_s"),
            "scores": ev.get("scores", {}),
            "values": ev.get("values", {}),
            "baselines": ev.get("baselines", {}),
            "diagnosis": diagnosis or None,
            "envelope": ev.get("envelope", {}),
            "trend": _trend(ev.get("trend", [])),
        }
    elif "metric" in ev:
        decided = (
            f"{ev['metric']} above {ev.get('limit')} for {float(ev.get('duration_s', 0)):.0f} s "
            f"(max {ev.get('max_value')})"
        )
        evidence = {
            "fault": alert.condition,
            "decided_by": "threshold",
            "metric": ev["metric"],
            "limit": ev.get("limit"),
            "max_value": ev.get("max_value"),
            "duration_s": ev.get("duration_s"),
            "first_over_ns": ev.get("first_over_ns"),
            "confirmed_ns": ev.get("confirmed_ns"),
        }
    else:
        decided = str(ev.get("message") or alert.condition)
        evidence = {"fault": alert.condition, "decided_by": alert.model or "alert", **ev}
    description = f"{alert.condition} on {what}: {decided}."
    if checks:
        description += " Checks: " + "; ".join(checks)
    if parts:
        description += ". Spare parts: " + ", ".join(
            f"{p.get('quantity', 1):g} x {p.get('part')}" for p in parts
        )
    return WorkOrderContent(
        title=f"{alert.condition} on {what}"[:200],
        description=description,
        evidence=evidence,
        checks=checks,
        spare_parts=parts,
    )


def _trend(points: list[Any]) -> dict[str, Any]:
    """The trend as columns: event times, the score, and each feature's values."""
    ts = [p[0] for p in points]
    metrics = sorted({m for p in points for m in p[2]})
    return {
        "ts_ns": ts,
        "score": [p[1] for p in points],
        "features": {m: [p[2].get(m) for p in points] for m in metrics},
    }
