"""Each API response model answers exactly its BOH record's fields (less the ones it keeps
back on purpose), and each record is built from its table row by name: a column added
to a table and its record is in the API once the model has it, and this test says so."""

from __future__ import annotations

import dataclasses
import functools
import operator
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from bohsense.cloud.api.routers import (
    alerts,
    changes,
    commands,
    events,
    fleet,
    inventory,
    pos,
    records,
    replenishment,
    stock,
    stock_truth,
    webhooks,
    work_orders,
)
from bohsense.cloud.boh import _inventory as inv
from bohsense.cloud.boh import _ledger as ledger
from bohsense.cloud.boh import _models as m
from bohsense.cloud.boh import _records as r
from bohsense.cloud.boh import _stock_read as sr
from bohsense.cloud.boh import _webhooks as wh
from bohsense.cloud.boh._commands import CommandRecord
from bohsense.cloud.boh._events_read import EventRecord

#: (API model, record, record fields the API keeps back)
PAIRS: list[tuple[type[BaseModel], type[Any], set[str]]] = [
    (alerts.Alert, r.AlertRecord, set()),
    (work_orders.WorkOrder, r.WorkOrderRecord, set()),
    (replenishment.Proposal, r.ProposalRecord, set()),
    (records.AuditEntry, r.AuditRecord, {"kind"}),  # the audit answer as it was; /changes has kind
    (changes.Change, r.AuditRecord, set()),
    (fleet.Gateway, r.GatewayRecord, set()),
    (fleet.Device, r.DeviceRecord, set()),
    (stock.StockLevel, r.StockLevelRecord, set()),
    (commands.Command, CommandRecord, set()),
    (events.DeviceEvent, EventRecord, set()),
    (inventory.ItemState, inv.ItemRecord, set()),
    (inventory.ItemEvent, inv.ItemHistoryRecord, set()),
    (inventory.ZoneLine, inv.ZoneLineRecord, set()),
    (inventory.Snapshot, inv.SnapshotRecord, set()),
    (inventory.ZoneCount, inv.ZoneCountRecord, set()),
    (inventory.Departure, inv.DepartureRecord, set()),
    (webhooks.Delivery, wh.DeliveryRecord, set()),
    (webhooks.Attempt, wh.AttemptRecord, set()),
    (stock_truth.SensedStock, sr.SensedStockRecord, set()),
    (stock_truth.LaneSense, sr.LaneSenseRecord, set()),
    (stock_truth.Outage, sr.OutageRecord, set()),
    (stock_truth.HeatCell, sr.HeatCellRecord, set()),
    (stock_truth.OutageTotal, sr.OutageTotalRecord, set()),
    (stock_truth.Rollup, sr.RollupRecord, set()),
    (pos.LedgerEntry, ledger.LedgerRecord, set()),
    (pos.TransactionOut, ledger.TransactionResult, set()),
    (pos.LineOut, ledger.LineResult, set()),
]

#: (record, table) built by name by ``record_from``
ROWS: list[tuple[type[Any], type[Any]]] = [
    (r.AlertRecord, m.Alert),
    (r.WorkOrderRecord, m.WorkOrder),
    (r.ProposalRecord, m.ReplenishmentProposal),
    (r.AuditRecord, m.AuditEntry),
    (r.GatewayRecord, m.Gateway),
    (r.DeviceRecord, m.Device),
    (CommandRecord, m.GatewayCommandRow),
]


@pytest.mark.parametrize(("model", "record", "kept_back"), PAIRS, ids=lambda x: getattr(x, "__name__", ""))
def test_an_api_model_answers_its_records_fields(
    model: type[BaseModel], record: type[Any], kept_back: set[str]
) -> None:
    fields = {f.name for f in dataclasses.fields(record)}
    assert set(model.model_fields) == fields - kept_back


#: a record nested in another is answered as its own API model
NESTED: dict[Any, Any] = {record: model for model, record, _ in PAIRS}


def _as_api(t: Any) -> Any:
    if isinstance(t, types.UnionType):
        return functools.reduce(operator.or_, (_as_api(a) for a in typing.get_args(t)))
    return NESTED.get(t, t)


@pytest.mark.parametrize(("model", "record", "kept_back"), PAIRS, ids=lambda x: getattr(x, "__name__", ""))
def test_an_api_model_types_its_fields_as_the_record_does(
    model: type[BaseModel], record: type[Any], kept_back: set[str]
) -> None:
    hints = typing.get_type_hints(record)
    for name, info in model.model_fields.items():
        want, got = _as_api(hints[name]), info.annotation
        # the API may narrow a JSON value to a typed shape (list[Part] for list[dict])
        if typing.get_origin(want) in (list, dict) and typing.get_origin(got) is typing.get_origin(want):
            continue
        assert got == want, f"{model.__name__}.{name}: {got} in the API, {want} in the record"


@pytest.mark.parametrize(("record", "table"), ROWS, ids=lambda x: x.__name__)
def test_a_record_is_built_from_its_rows_columns_by_name(record: type[Any], table: type[Any]) -> None:
    columns = set(table.__table__.c.keys())
    assert {f.name for f in dataclasses.fields(record)} <= columns
