"""Who may call what: the one table of roles (and API-key scopes) per operation.

``POLICY`` maps every operation id (``_openapi.operation_id``) to a ``Rule``: the roles
that may call it and the scope an API key needs for it (a key needs both: a role the rule
allows *and* the scope; the ``admin`` scope holds every scope). ``PUBLIC`` operations
need no credential at all (health probes, sign-in). ``create_app`` refuses to build an
app with a route missing here, or an entry naming no route, so a new route cannot be
forgotten. ``docs/auth.md`` shows this table (``policy_table``; a test keeps them equal).

The roles, in short: a *technician* reads the alerts, work orders, assets, readings,
events and stock of its stores and moves alerts and work orders along; a *store manager*
reads everything of its stores, works alerts and work orders, decides replenishment and
exports; a *planner* reads stock and replenishment and decides proposals and plans; *hq*
reads everything across stores and changes nothing at a store; *admin* does everything
(catalog, commissioning, commands, quarantine, webhooks, users and API keys). Which
stores a caller sees (``Principal.sites``) is applied in the routers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..identity import ROLES, SCOPES

__all__ = ["POLICY", "PUBLIC", "Rule", "policy_table"]


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[str]
    #: the scope an API key needs ("" for none beyond being a valid key)
    scope: str

    def allows_role(self, role: str) -> bool:
        return role in self.roles

    def allows_scopes(self, scopes: Iterable[str]) -> bool:
        held = set(scopes)
        return not self.scope or self.scope in held or "admin" in held


#: no credential needed
PUBLIC: None = None

T, S, P, H, A = ROLES  # technician, store_manager, planner, hq, admin


def _r(roles: str, scope: str) -> Rule:
    """``_r("TSA", "alerts:write")``: the roles by initial."""
    names = {"T": T, "S": S, "P": P, "H": H, "A": A}
    if scope and scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return Rule(frozenset(names[c] for c in roles), scope)


_ALL_READ = _r("TSPHA", "read")
_STORE_READ = _r("SHA", "read")  # fleet and records: the store's manager, HQ, admin
_FIELD_READ = _r("TSHA", "read")  # what a technician works from
_STOCK_READ = _r("TSPHA", "read")
_PLAN_READ = _r("SPHA", "read")  # stock analysis and replenishment
_EXPORT = _r("SPHA", "read")
_MAINT_EXPORT = _r("SHA", "read")
_ALERT_WRITE = _r("TSA", "alerts:write")
_WO_WRITE = _r("TSA", "work-orders:write")
_WO_CREATE = _r("SA", "work-orders:write")
_REPL_WRITE = _r("SPA", "replenishment:write")
_PLAN_WRITE = _r("PA", "replenishment:write")
_CATALOG_WRITE = _r("A", "catalog:write")
_ADMIN = _r("A", "admin")
_ANY = _r("TSPHA", "")

POLICY: dict[str, Rule | None] = {
    # health and sign-in
    "healthz": PUBLIC,
    "readyz": PUBLIC,
    "version": PUBLIC,
    "health": PUBLIC,
    "token": PUBLIC,
    "metrics": _r("HA", "read"),
    # the caller itself
    "me": _ANY,
    "logout": _ANY,
    # users and API keys
    "listUsers": _ADMIN,
    "createUser": _ADMIN,
    "updateUser": _ADMIN,
    "listApiKeys": _ADMIN,
    "createApiKey": _ADMIN,
    "revokeApiKey": _ADMIN,
    # fleet
    "listGateways": _STORE_READ,
    "getGateway": _STORE_READ,
    "listDevices": _STORE_READ,
    # catalog
    "mapping": _STORE_READ,
    "listSites": _ALL_READ,
    "listSkus": _PLAN_READ,
    "listAssets": _FIELD_READ,
    "listLocations": _STOCK_READ,
    "putSite": _CATALOG_WRITE,
    "retireSite": _CATALOG_WRITE,
    "putGateway": _CATALOG_WRITE,
    "releaseHeld": _CATALOG_WRITE,
    "retireGateway": _CATALOG_WRITE,
    "putSku": _CATALOG_WRITE,
    "retireSku": _CATALOG_WRITE,
    "putAsset": _CATALOG_WRITE,
    "retireAsset": _CATALOG_WRITE,
    "putLocation": _CATALOG_WRITE,
    "retireLocation": _CATALOG_WRITE,
    "retireDevice": _CATALOG_WRITE,
    # commands
    "sendCommand": _r("A", "commands:write"),
    "listCommands": _STORE_READ,
    "getCommand": _STORE_READ,
    # readings and events
    "latest": _FIELD_READ,
    "series": _FIELD_READ,
    "events": _FIELD_READ,
    # stock
    "stock": _STOCK_READ,
    "exportStock": _EXPORT,
    "sensed": _STOCK_READ,
    "rollup": _PLAN_READ,
    "outages": _PLAN_READ,
    "outageTotals": _PLAN_READ,
    "heatmap": _PLAN_READ,
    # inventory
    "zones": _STOCK_READ,
    "getItem": _STOCK_READ,
    "departures": _PLAN_READ,
    # alerts
    "listAlerts": _FIELD_READ,
    "exportAlerts": _MAINT_EXPORT,
    "getAlert": _FIELD_READ,
    "acknowledge": _ALERT_WRITE,
    "resolve": _ALERT_WRITE,
    # work orders
    "listWorkOrders": _FIELD_READ,
    "exportWorkOrders": _MAINT_EXPORT,
    "listFaultLabels": _FIELD_READ,
    "createWorkOrder": _WO_CREATE,
    "getWorkOrder": _FIELD_READ,
    "trend": _FIELD_READ,
    "updateWorkOrder": _WO_WRITE,
    "transition": _WO_WRITE,
    # replenishment
    "listProposals": _PLAN_READ,
    "exportProposals": _EXPORT,
    "getProposal": _PLAN_READ,
    "explanation": _PLAN_READ,
    "setQuantity": _REPL_WRITE,
    "approve": _REPL_WRITE,
    "reject": _REPL_WRITE,
    "ordered": _REPL_WRITE,
    "received": _REPL_WRITE,
    "cancel": _REPL_WRITE,
    "receipt": _REPL_WRITE,
    "putPlan": _PLAN_WRITE,
    # records
    "audit": _STORE_READ,
    "quarantine": _r("HA", "read"),
    "quarantinePayload": _ADMIN,
    "reapplyQuarantined": _ADMIN,
    "summary": _ALL_READ,
    "changes": _r("HA", "read"),
    # the live feed: every role, each given the topics whose list it may read (FEED_TOPIC_OPS)
    "feedEvents": _ALL_READ,
    # webhooks
    "listDeliveries": _r("HA", "read"),
    "deadLetter": _r("HA", "read"),
    "getDelivery": _r("HA", "read"),
    "redrive": _ADMIN,
    # book stock
    "postTransactions": _r("A", "pos:write"),
    "ledger": _PLAN_READ,
    # commissioning
    "importSheet": _ADMIN,
    "getChecklist": _STORE_READ,
    # asset health and store KPIs
    "assetHealth": _FIELD_READ,
    "fleetKpis": _STORE_READ,
}


def describe(rule: Rule | None) -> str:
    """The sentence the OpenAPI description gets."""
    if rule is None:
        return "No credential needed."
    roles = ", ".join(r for r in ROLES if r in rule.roles)
    scope = f"; an API key also needs the scope `{rule.scope}`" if rule.scope else ""
    return f"Roles: {roles}{scope}."


def policy_table() -> str:
    """The Markdown table of ``POLICY`` that docs/auth.md shows (sorted by operation id)."""
    head = "| operation | " + " | ".join(ROLES) + " | API-key scope |"
    rule_line = "|---|" + "---|" * len(ROLES) + "---|"
    lines = [head, rule_line]
    for op in sorted(POLICY):
        rule = POLICY[op]
        if rule is None:
            cells = ["public"] * len(ROLES) + ["—"]
        else:
            cells = ["✓" if r in rule.roles else "" for r in ROLES] + [
                f"`{rule.scope}`" if rule.scope else "any"
            ]
        lines.append(f"| `{op}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: the list each live-feed topic mirrors: a caller gets a topic only if it may read that list
FEED_TOPIC_OPS: dict[str, str] = {
    "alerts": "listAlerts",
    "work_orders": "listWorkOrders",
    "stock": "stock",
    "proposals": "listProposals",
}
