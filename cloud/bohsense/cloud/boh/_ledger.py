"""Book stock: the point-of-sale / ERP feed, the inventory ledger and the sales it holds.

A sender (a till system, an ERP) posts a batch of transactions, each a ``sale``, a
``receipt`` or an ``adjustment`` of one site with lines of SKU, stock location and
quantity. ``record_transactions`` takes a batch whole or not at all, in one transaction:

- every line is checked against the catalog first (an active site, an active SKU given by
  ``sku`` or ``gtin``, a stock location of that SKU in the site: given, or the only one),
  and its quantity against its kind (a sale or a receipt moves a positive quantity, an
  adjustment a non-zero signed one); the first bad line raises ``InvalidValue`` naming it
  (``transactions[2].lines[0].sku``) and nothing is written;
- a transaction id the sender used before (``pos_transactions``, keyed by sender and id)
  is a duplicate: skipped and reported ``duplicate``; an id given twice in one batch is
  refused;
- each new line appends a row to ``inventory_ledger`` (sales negative) with the balance it
  left, and moves ``book_stock`` of its location; each transaction writes its domain event
  ``inventory.transaction_recorded`` (the audit log) with its lines and balances.

Rows are taken in a fixed order (transaction ids sorted, then book rows by location id), so
concurrent senders serialise instead of deadlocking, and a concurrent repeat of the same id
waits for the first and is then a duplicate.

Sales are also what door departures of tagged items are matched against
(``match_departures``): each sold unit of the SKU in the site matches at most one departure
within ``window_ns`` of it, earliest departure first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from math import isfinite
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ._db import conflict_insert
from ._domain_events import DomainEvent, emit
from ._errors import InvalidValue
from ._models import BookStock, LedgerEntry, PosTransaction, Site, Sku, StockLocation
from ._scope import Sites, within

__all__ = [
    "DEPARTURE_WINDOW_S",
    "KINDS",
    "LedgerRecord",
    "PosBatch",
    "PosLine",
    "PosTransactionIn",
    "TransactionResult",
    "list_ledger",
    "match_departures",
    "record_transactions",
    "sales_between",
]

KINDS = ("sale", "receipt", "adjustment")
#: a door departure and a sale of its SKU this close in time match (the default; see
#: ``_stock_truth.StockSettings.departure_window_s``)
DEPARTURE_WINDOW_S = 900.0
#: most lines a batch may carry (all of them in one database transaction)
MAX_LINES = 5000


@dataclass(frozen=True, slots=True)
class PosLine:
    """One line: ``sku`` or ``gtin`` (one of them), ``location`` ("" for the SKU's only
    location in the site), ``quantity`` in the SKU's unit (signed for an adjustment)."""

    quantity: float
    sku: str = ""
    gtin: str = ""
    location: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PosTransactionIn:
    txn_id: str
    kind: str
    site: str
    occurred_ns: int
    lines: tuple[PosLine, ...]


@dataclass(frozen=True, slots=True)
class PosBatch:
    sender: str
    transactions: tuple[PosTransactionIn, ...]


@dataclass(frozen=True, slots=True)
class LineResult:
    sku: str
    location: str
    quantity: float  # signed, as in the ledger
    balance_after: float


@dataclass(frozen=True, slots=True)
class TransactionResult:
    txn_id: str
    status: str  # applied / duplicate
    lines: list[LineResult] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    id: int
    site: str
    sku: str
    location: str
    kind: str
    quantity: float
    balance_after: float
    sender: str
    txn_id: str
    line: int
    reason: str
    occurred_ns: int
    received_ns: int


@dataclass(frozen=True, slots=True)
class _Resolved:
    location_id: int
    site: str
    sku: str
    location: str
    delta: float
    reason: str


def _catalog(
    conn: Connection, sites: Iterable[str]
) -> tuple[set[str], dict[str, str], set[str], dict[Any, Any]]:
    site_ids = set(
        conn.scalars(select(Site.id).where(Site.id.in_(sorted(set(sites))), Site.retired_ns.is_(None)))
    )
    skus: set[str] = set()
    gtins: dict[str, str] = {}
    for sku, gtin in conn.execute(
        select(Sku.sku, Sku.gtin).where(Sku.retired_ns.is_(None)).order_by(Sku.sku)
    ):
        skus.add(sku)
        if gtin:
            gtins.setdefault(gtin, sku)
    locs: dict[Any, Any] = {}
    c = StockLocation.__table__.c
    for r in conn.execute(
        select(c.id, c.site, c.sku, c.location).where(c.site.in_(sorted(site_ids)), c.retired_ns.is_(None))
    ):
        locs[(r.site, r.sku, r.location)] = r.id
        locs.setdefault((r.site, r.sku), []).append(r.location)
    return site_ids, gtins, skus, locs


def _resolve(conn: Connection, batch: PosBatch) -> list[list[_Resolved]]:
    """Every line checked and resolved to its stock location; ``InvalidValue`` on the first bad one."""
    if not batch.sender:
        raise InvalidValue("sender", "is empty")
    if not batch.transactions:
        raise InvalidValue("transactions", "is empty: a batch has at least one transaction")
    total = sum(len(t.lines) for t in batch.transactions)
    if total > MAX_LINES:
        raise InvalidValue("transactions", f"{total} lines: at most {MAX_LINES} per batch")
    seen: dict[str, int] = {}
    for i, t in enumerate(batch.transactions):
        if t.txn_id in seen:
            raise InvalidValue(
                f"transactions[{i}].txn_id",
                f"{t.txn_id!r} is given twice in the batch (first at {seen[t.txn_id]})",
            )
        seen[t.txn_id] = i
    site_ids, gtins, skus, locs = _catalog(conn, (t.site for t in batch.transactions))
    out: list[list[_Resolved]] = []
    for i, t in enumerate(batch.transactions):
        where = f"transactions[{i}]"
        if t.kind not in KINDS:
            raise InvalidValue(f"{where}.kind", f"{t.kind!r} is not one of {list(KINDS)}")
        if t.site not in site_ids:
            raise InvalidValue(f"{where}.site", f"{t.site!r} is not an active site of the catalog")
        if not t.lines:
            raise InvalidValue(f"{where}.lines", "is empty: a transaction has at least one line")
        lines: list[_Resolved] = []
        for j, ln in enumerate(t.lines):
            at = f"{where}.lines[{j}]"
            if bool(ln.sku) == bool(ln.gtin):
                raise InvalidValue(at, "give exactly one of sku and gtin")
            if ln.sku:
                if ln.sku not in skus:
                    raise InvalidValue(f"{at}.sku", f"{ln.sku!r} is not an active SKU of the catalog")
                sku = ln.sku
            else:
                found = gtins.get(ln.gtin)
                if found is None:
                    raise InvalidValue(
                        f"{at}.gtin", f"{ln.gtin!r} is the GTIN of no active SKU of the catalog"
                    )
                sku = found
            if ln.location:
                loc_id = locs.get((t.site, sku, ln.location))
                if loc_id is None:
                    raise InvalidValue(
                        f"{at}.location", f"{ln.location!r} is not a stock location of {sku!r} in {t.site!r}"
                    )
                location = ln.location
            else:
                options = locs.get((t.site, sku), [])
                if len(options) != 1:
                    raise InvalidValue(
                        f"{at}.location",
                        f"required: {sku!r} has {len(options)} stock locations in {t.site!r}"
                        + (f" ({', '.join(sorted(options))})" if options else ""),
                    )
                location = options[0]
                loc_id = locs[(t.site, sku, location)]
            q = ln.quantity
            if not isfinite(q):
                raise InvalidValue(f"{at}.quantity", "must be a finite number")
            if t.kind == "adjustment":
                if q == 0:
                    raise InvalidValue(f"{at}.quantity", "an adjustment moves a non-zero quantity")
                delta = q
            else:
                if q <= 0:
                    raise InvalidValue(
                        f"{at}.quantity",
                        f"a {t.kind} moves a positive quantity, not {q:g} (use an adjustment)",
                    )
                delta = -q if t.kind == "sale" else q
            lines.append(_Resolved(loc_id, t.site, sku, location, delta, ln.reason))
        out.append(lines)
    return out


def record_transactions(
    conn: Connection, batch: PosBatch, *, actor: str, now: int
) -> list[TransactionResult]:
    """Take ``batch`` into the ledger whole (see the module's docstring); a result per
    transaction, in the batch's order."""
    resolved = _resolve(conn, batch)
    order = sorted(range(len(batch.transactions)), key=lambda i: batch.transactions[i].txn_id)
    new: set[int] = set()
    for i in order:
        t = batch.transactions[i]
        taken = conn.execute(
            conflict_insert(conn, PosTransaction)
            .values(
                sender=batch.sender,
                txn_id=t.txn_id,
                kind=t.kind,
                site=t.site,
                lines=len(t.lines),
                occurred_ns=t.occurred_ns,
                received_ns=now,
                actor=actor,
            )
            .on_conflict_do_nothing()
            .returning(PosTransaction.txn_id)
        ).first()
        if taken is not None:
            new.add(i)
    loc_ids = sorted({ln.location_id for i in new for ln in resolved[i]})
    books: dict[int, dict[str, Any]] = {}
    if loc_ids:
        first = {ln.location_id: ln for i in new for ln in resolved[i]}
        conn.execute(
            conflict_insert(conn, BookStock).on_conflict_do_nothing(),
            [
                {
                    "location_id": lid,
                    "site": first[lid].site,
                    "sku": first[lid].sku,
                    "location": first[lid].location,
                    "units": 0.0,
                    "last_sale_ns": None,
                    "updated_ns": now,
                }
                for lid in loc_ids
            ],
        )
        b = BookStock.__table__.c
        for r in conn.execute(
            select(b.location_id, b.units, b.last_sale_ns)
            .where(b.location_id.in_(loc_ids))
            .order_by(b.location_id)
            .with_for_update()
        ):
            books[r.location_id] = {"units": r.units, "last_sale_ns": r.last_sale_ns}
    results: list[TransactionResult] = []
    ledger: list[dict[str, Any]] = []
    events: list[DomainEvent] = []
    for i, t in enumerate(batch.transactions):
        if i not in new:
            results.append(TransactionResult(t.txn_id, "duplicate"))
            continue
        lines: list[LineResult] = []
        for j, ln in enumerate(resolved[i]):
            book = books[ln.location_id]
            book["units"] = float(book["units"]) + ln.delta
            if t.kind == "sale":
                last = book["last_sale_ns"]
                book["last_sale_ns"] = t.occurred_ns if last is None else max(last, t.occurred_ns)
            ledger.append(
                {
                    "location_id": ln.location_id,
                    "site": ln.site,
                    "sku": ln.sku,
                    "location": ln.location,
                    "kind": t.kind,
                    "quantity": ln.delta,
                    "balance_after": book["units"],
                    "sender": batch.sender,
                    "txn_id": t.txn_id,
                    "line": j,
                    "reason": ln.reason[:200],
                    "occurred_ns": t.occurred_ns,
                    "received_ns": now,
                }
            )
            lines.append(LineResult(ln.sku, ln.location, ln.delta, book["units"]))
        results.append(TransactionResult(t.txn_id, "applied", lines))
        events.append(
            DomainEvent(
                "inventory.transaction_recorded",
                "pos_transaction",
                f"{batch.sender}/{t.txn_id}"[:128],
                None,
                "recorded",
                now,
                actor,
                {
                    "sender": batch.sender,
                    "txn_id": t.txn_id,
                    "kind": t.kind,
                    "site": t.site,
                    "occurred_ns": t.occurred_ns,
                    "lines": [
                        {
                            "sku": x.sku,
                            "location": x.location,
                            "quantity": x.quantity,
                            "book_after": x.balance_after,
                        }
                        for x in lines
                    ],
                },
            )
        )
    if ledger:
        conn.execute(insert(LedgerEntry), ledger)
        b = BookStock.__table__.c
        for lid in loc_ids:
            conn.execute(
                update(BookStock)
                .where(b.location_id == lid)
                .values(units=books[lid]["units"], last_sale_ns=books[lid]["last_sale_ns"], updated_ns=now)
            )
    emit(conn, *events)
    return results


def list_ledger(
    conn: Connection,
    *,
    site: str | None,
    sku: str | None,
    location: str | None,
    kind: str | None,
    limit: int,
    offset: int,
    sites: Sites = None,
) -> list[LedgerRecord]:
    """Ledger rows, newest first (by id: the order they were taken in)."""
    c = LedgerEntry.__table__.c
    q = select(LedgerEntry.__table__).where(within(c.site, sites))
    for col, value in ((c.site, site), (c.sku, sku), (c.location, location), (c.kind, kind)):
        if value is not None:
            q = q.where(col == value)
    rows = conn.execute(q.order_by(c.id.desc()).limit(limit).offset(offset))
    return [
        LedgerRecord(
            r.id,
            r.site,
            r.sku,
            r.location,
            r.kind,
            r.quantity,
            r.balance_after,
            r.sender,
            r.txn_id,
            r.line,
            r.reason,
            r.occurred_ns,
            r.received_ns,
        )
        for r in rows
    ]


def sales_between(
    conn: Connection, *, location_ids: Sequence[int], since_ns: int, until_ns: int
) -> dict[int, float]:
    """Units sold per location with ``since_ns <= occurred < until_ns``."""
    if not location_ids:
        return {}
    c = LedgerEntry.__table__.c
    out: dict[int, float] = {}
    for lid, q in conn.execute(
        select(c.location_id, c.quantity).where(
            c.location_id.in_(sorted(set(location_ids))),
            c.kind == "sale",
            c.occurred_ns >= since_ns,
            c.occurred_ns < until_ns,
        )
    ):
        out[lid] = out.get(lid, 0.0) - float(q)
    return out


@dataclass(frozen=True, slots=True)
class SaleMatch:
    """The sale a departure was matched to: ``sender/txn_id`` and its time."""

    txn: str
    occurred_ns: int


def match_departures(
    conn: Connection,
    departures: Sequence[tuple[str, str | None, int, Any]],
    window_ns: int,
    *,
    before_only: bool = False,
) -> dict[Any, SaleMatch]:
    """``departures``: ``(site, sku, ts_ns, key)``; the sale unit each key was matched to.

    Per site and SKU, in departure time order, a departure takes the earliest unmatched
    sold unit within ``window_ns`` of it (before or after it; only before with
    ``before_only``). A departure with no SKU matches nothing.
    """
    groups: dict[tuple[str, str], list[tuple[int, Any]]] = {}
    for site, sku, ts, key in departures:
        if sku:
            groups.setdefault((site, sku), []).append((ts, key))
    c = LedgerEntry.__table__.c
    out: dict[Any, SaleMatch] = {}
    for (site, sku), items in groups.items():
        items.sort(key=lambda x: x[0])
        lo, hi = items[0][0] - window_ns, items[-1][0] + (0 if before_only else window_ns)
        units: list[list[Any]] = []  # [occurred, txn, units left]
        for occurred, sender, txn_id, q in conn.execute(
            select(c.occurred_ns, c.sender, c.txn_id, c.quantity)
            .where(c.site == site, c.sku == sku, c.kind == "sale", c.occurred_ns >= lo, c.occurred_ns <= hi)
            .order_by(c.occurred_ns, c.id)
        ):
            units.append([occurred, f"{sender}/{txn_id}", max(0, round(-float(q)))])
        for ts, key in items:
            for u in units:
                if u[2] > 0 and abs(u[0] - ts) <= window_ns and not (before_only and u[0] > ts):
                    u[2] -= 1
                    out[key] = SaleMatch(u[1], u[0])
                    break
    return out
