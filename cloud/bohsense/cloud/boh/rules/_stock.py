"""Reorder point / order-up-to level on the inventory position, rounded up to whole packs."""

from __future__ import annotations

import math

from ._base import ReplenishmentNeeded, StockInputs

__all__ = ["ReorderPoint"]


class ReorderPoint:
    """``StockEngine`` on the inventory position ``sensed + on_order``.

    Below the reorder point it orders up to the target,
    ``quantity = ceil((target - position) / pack) * pack``. The reorder point includes the
    safety stock (the catalog refuses a safety stock above it): a position below the safety
    stock means the store is eating into it, and the proposal is ``urgent``.
    """

    def propose(self, inputs: StockInputs) -> ReplenishmentNeeded | None:
        position = inputs.sensed_units + inputs.on_order
        if position >= inputs.reorder_point:
            return None
        pack = max(1, inputs.pack_size)
        shortfall = max(0.0, inputs.target - position)
        packs = math.ceil(shortfall / pack)
        quantity = packs * pack
        priority = "urgent" if position < inputs.safety_stock else "normal"
        text = (
            f"sensed {inputs.sensed_units:g} + on order {inputs.on_order:g} = {position:g} "
            f"< reorder point {inputs.reorder_point:g}: "
            f"order up to {inputs.target:g} = ceil(({inputs.target:g} - {position:g}) / {pack}) "
            f"= {packs} pack(s) of {pack} = {quantity} units"
        )
        if priority == "urgent":
            text += f"; below safety stock {inputs.safety_stock:g}: urgent"
        explanation = {
            "rule": "reorder-point/order-up-to",
            "sensed_units": inputs.sensed_units,
            "on_order": inputs.on_order,
            "position": position,
            "reorder_point": inputs.reorder_point,
            "target": inputs.target,
            "safety_stock": inputs.safety_stock,
            "pack_size": pack,
            "shortfall": shortfall,
            "packs": packs,
            "quantity": quantity,
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
