"""Remaining useful life from run-to-failure tables (see ``_model``)."""

from ._model import RulModel
from ._table import Table, parse_table, read_table

__all__ = ["RulModel", "Table", "parse_table", "read_table"]
