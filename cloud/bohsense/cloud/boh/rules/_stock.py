"""Reorder point / order-up-to level, rounded up to whole packs."""

from __future__ import annotations

import math

from ._base import ProposalDraft, StockInputs

__all__ = ["ReorderPoint"]


class ReorderPoint:
    """``StockEngine``: sensed units below the reorder point orders up to the target,
    ``quantity = ceil((target - sensed) / pack) * pack``."""

    def propose(self, inputs: StockInputs) -> ProposalDraft | None:
        if inputs.sensed_units >= inputs.reorder_point:
            return None
        pack = max(1, inputs.pack_size)
        shortfall = max(0.0, inputs.target - inputs.sensed_units)
        packs = math.ceil(shortfall / pack)
        quantity = packs * pack
        explanation = {
            "rule": "reorder-point/order-up-to",
            "sensed_units": inputs.sensed_units,
            "reorder_point": inputs.reorder_point,
            "target": inputs.target,
            "safety_stock": inputs.safety_stock,
            "pack_size": pack,
            "shortfall": shortfall,
            "packs": packs,
            "quantity": quantity,
            "as_of_ns": inputs.as_of_ns,
            "text": (
                f"sensed {inputs.sensed_units:g} < reorder point {inputs.reorder_point:g}: "
                f"order up to {inputs.target:g} = ceil(({inputs.target:g} - {inputs.sensed_units:g}) / {pack}) "
                f"= {packs} pack(s) of {pack} = {quantity} units"
            ),
        }
        return ProposalDraft(quantity=quantity, explanation=explanation)
