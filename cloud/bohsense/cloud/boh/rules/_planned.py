"""Reorder point and EOQ from the forecast when the location has a plan, the catalog's
reorder point and target otherwise; every number in the explanation.

With a plan (``PlanParams``, from the nightly forecast): the lead-time demand is a count
distribution with the forecast's mean and variance (``models.forecast.CountDistribution``:
Poisson, or negative binomial when over-dispersed). The reorder point is its quantile at
the class's service level, the safety stock that quantile less the mean. The order
quantity is the EOQ ``√(2·D·K / (h·c))`` (D: yearly demand, 365 × the forecast per day;
K: cost per order; h·c: holding cost per unit and year), when the costs are known, else
the catalog's ``target − reorder point``. Below the reorder point the location orders up
to ``reorder point + Q`` on its inventory position (sensed + on order), rounded to packs
and the minimum order (``models.replenish.round_order``), and no further than the shelf
holds (``shelf_capacity``, rounded down to packs; at least one pack).

Without a plan, the catalog's reorder point / order-up-to rule (``ReorderPoint``) sizes it
and the explanation says ``source: catalog``.
"""

from __future__ import annotations

import math
from typing import Any

from bohsense.models.forecast import CountDistribution
from bohsense.models.replenish import round_order

from ._base import PlanParams, ReplenishmentNeeded, StockInputs
from ._stock import ReorderPoint

__all__ = ["PlannedReorder", "eoq"]

DAYS_PER_YEAR = 365.0


def eoq(plan: PlanParams) -> tuple[float | None, str]:
    """The economic order quantity of a plan (None when a cost is missing) and why."""
    c, k, h = plan.unit_cost, plan.ordering_cost, plan.holding_rate
    if c is None or k is None or h is None:
        return None, "no unit, ordering or holding cost in the plan"
    if c <= 0 or h <= 0:
        return None, "a zero unit or holding cost gives no EOQ"
    yearly = DAYS_PER_YEAR * plan.daily_mean
    if yearly <= 0:
        return None, "no forecast demand"
    return math.sqrt(2.0 * yearly * k / (h * c)), f"sqrt(2 x {yearly:.1f}/yr x {k:g} / ({h:g} x {c:g}))"


class PlannedReorder:
    """``StockEngine``: the plan's reorder point and EOQ, or the catalog's rule without one."""

    def __init__(self) -> None:
        self._catalog = ReorderPoint()

    def propose(self, inputs: StockInputs) -> ReplenishmentNeeded | None:
        if inputs.plan is None:
            return self._from_catalog(inputs)
        return self._from_plan(inputs, inputs.plan)

    def _from_catalog(self, inputs: StockInputs) -> ReplenishmentNeeded | None:
        d = self._catalog.propose(inputs)
        if d is None:
            return None
        explanation = {
            **d.explanation,
            "source": "catalog",
            "source_text": "no forecast for this location: the catalog's reorder point and target",
            "book_units": inputs.book_units,
            "class": None,
            "service_level": None,
            "forecast": None,
            "eoq": None,
            "order_up_to": inputs.target,
            "min_order": 0,
            "shelf_capacity": None,
        }
        return ReplenishmentNeeded(d.quantity, explanation, d.priority, d.subject)

    def _from_plan(self, inputs: StockInputs, plan: PlanParams) -> ReplenishmentNeeded | None:
        ltd = CountDistribution(max(plan.lead_time_mean, 0.0), max(plan.lead_time_var, 0.0))
        reorder_point = float(ltd.quantile(plan.service_level))
        safety = max(0.0, reorder_point - plan.lead_time_mean)
        position = inputs.sensed_units + inputs.on_order
        if position >= reorder_point:
            return None
        pack = max(1, inputs.pack_size)
        q, eoq_how = eoq(plan)
        if q is not None:
            q_used, q_source = q, "eoq"
        else:
            q_used, q_source = max(float(pack), inputs.target - inputs.reorder_point), "catalog"
        up_to = reorder_point + q_used
        shortfall = max(0.0, up_to - position)
        quantity = round_order(shortfall, pack, plan.min_order)
        capped = False
        if plan.shelf_capacity is not None:
            room = max(pack, math.floor(max(0.0, plan.shelf_capacity - position) / pack) * pack)
            if quantity > room:
                quantity, capped = room, True
        if quantity <= 0:
            return None
        priority = "urgent" if position < safety else "normal"
        sd = math.sqrt(max(plan.lead_time_var, plan.lead_time_mean))
        text = (
            f"sensed {inputs.sensed_units:g} + on order {inputs.on_order:g} = {position:g} < reorder point "
            f"{reorder_point:g} (lead-time demand {plan.lead_time_mean:.1f} ± {sd:.1f} over "
            f"{plan.lead_time_days} d by {plan.method}, {plan.service_level:.1%} service level for class "
            f"{plan.abc}{plan.xyz}: safety stock {safety:.1f}); "
            + (f"EOQ {q_used:.1f}" if q_source == "eoq" else f"Q {q_used:g} from the catalog ({eoq_how})")
            + f"; order up to {up_to:.1f} = {shortfall:.1f} short -> {quantity // pack} pack(s) of {pack}"
            f"{f', minimum order {plan.min_order}' if plan.min_order else ''} = {quantity} units"
        )
        if capped:
            text += f" (capped: the shelf holds {plan.shelf_capacity:g})"
        if priority == "urgent":
            text += f"; below safety stock {safety:.1f}: urgent"
        explanation: dict[str, Any] = {
            "rule": "forecast-reorder-point/eoq",
            "source": "forecast",
            "source_text": f"forecast by {plan.method} as of {plan.as_of_ns}",
            "sensed_units": inputs.sensed_units,
            "book_units": inputs.book_units,
            "on_order": inputs.on_order,
            "position": position,
            "class": f"{plan.abc}{plan.xyz}",
            "service_level": plan.service_level,
            "forecast": {
                "method": plan.method,
                "lead_time_days": plan.lead_time_days,
                "lead_time_mean": plan.lead_time_mean,
                "lead_time_sd": sd,
                "daily_mean": plan.daily_mean,
                "as_of_ns": plan.as_of_ns,
            },
            "safety_stock": safety,
            "reorder_point": reorder_point,
            "eoq": {"value": q, "how": eoq_how, "used": q_used, "q_source": q_source},
            "order_up_to": up_to,
            "target": up_to,
            "shortfall": shortfall,
            "pack_size": pack,
            "min_order": plan.min_order,
            "packs": quantity // pack,
            "shelf_capacity": plan.shelf_capacity,
            "capped_by_shelf": capped,
            "quantity": quantity,
            "unit_cost": plan.unit_cost,
            "priority": priority,
            "as_of_ns": inputs.as_of_ns,
            "text": text,
        }
        return ReplenishmentNeeded(
            quantity=quantity,
            explanation=explanation,
            priority=priority,
            subject=f"{inputs.site}/{inputs.sku}/{inputs.location}",
        )
