"""Authentication and authorization of every request: one dependency, ``guard``.

Every router of the app carries ``guard``. It finds the operation's ``Rule`` in
``POLICY`` (public operations stop here), establishes the caller and stores it on
``request.state.principal`` (which ``PrincipalDep`` reads), then checks the rule:

1. ``Authorization: Bearer bsk_…`` (or ``X-API-Key: bsk_…``): an API key → its name,
   role, scopes and stores; revoked or expired → 401 ``key-revoked``.
2. ``Authorization: Bearer <JWT>``: a signed-in user (when ``jwt_secret`` is set) →
   the user's current role and stores; expired → 401 ``token-expired``; forged, tampered,
   of another issuer or audience, or of a disabled user → 401 ``token-invalid``.
3. ``Authorization: Bearer <api_token>``: the service token → ``api``, role admin.
4. Neither ``jwt_secret`` nor ``api_token`` configured: the API is open (bound to
   loopback, settings refuse anything else) and the caller is ``LOCAL`` (admin).

With authentication on, a request with no valid credential is 401 ``unauthorized`` with
``WWW-Authenticate: Bearer``. A role the rule does not allow, or an API key without the
rule's scope, is 403 ``insufficient-role``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, cast

from fastapi import FastAPI, Request, WebSocket
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from ..identity import (
    KEY_MARK,
    Authority,
    BadCredentials,
    Identity,
    IdentityConflict,
    IdentityError,
    IdentityNotFound,
    IdentityValueError,
    KeyRevoked,
    NotAuthenticated,
    TokenExpired,
    TokenInvalid,
    TooManyAttempts,
)
from ._errors import PROBLEM_JSON, ApiProblem, FieldError, error_response
from ._identity import LOCAL, Principal, Role
from ._openapi import operation_id
from ._policy import POLICY, Rule, describe

__all__ = ["AuthState", "annotate_policy", "check_policy", "guard", "install_identity_errors"]

_BEARER = {"WWW-Authenticate": "Bearer"}
_INVALID = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


@dataclass(frozen=True, slots=True)
class AuthState:
    """What the app authenticates with (``app.state.auth``)."""

    authority: Authority
    api_token: str | None

    @property
    def on(self) -> bool:
        return self.api_token is not None or self.authority.sign_in_enabled


def _principal(identity: Identity) -> Principal:
    via = identity.via if identity.via in ("jwt", "api_key") else "jwt"  # an IdP's token is a JWT
    return Principal(
        subject=identity.subject,
        role=cast(Role, identity.role),
        sites=frozenset(identity.sites) if identity.sites is not None else None,
        scopes=frozenset(identity.scopes),
        via=cast(Any, via),
    )


def _credential(request: HTTPConnection) -> str:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiProblem(401, "unauthorized", "missing bearer token", headers=_BEARER)
        return value.strip()
    key = request.headers.get("x-api-key")
    if key is not None and key.strip():
        return key.strip()
    raise ApiProblem(401, "unauthorized", "missing bearer token", headers=_BEARER)


def authenticate(request: Request) -> Principal:
    """The caller of ``request`` (raises the 401 problems)."""
    auth: AuthState = request.app.state.auth
    if not auth.on:
        return LOCAL
    return _identify(auth, _credential(request))


def _identify(auth: AuthState, credential: str) -> Principal:
    if credential.startswith(KEY_MARK):
        return _principal(auth.authority.identify_key(credential))
    if auth.api_token is not None and secrets.compare_digest(credential.encode(), auth.api_token.encode()):
        return Principal(subject="api", role="admin", sites=None, via="token")
    if auth.authority.sign_in_enabled and credential.count(".") == 2:
        return _principal(auth.authority.identify_token(credential))
    raise ApiProblem(401, "unauthorized", "invalid token", headers=_BEARER)


#: the operation whose rule the live feed's WebSocket is held to (the same feed as SSE)
WEBSOCKET_OPERATION = "feedEvents"


def authenticate_websocket(websocket: WebSocket) -> Principal:
    """The caller of the live feed's WebSocket, held to the SSE feed's rule. A browser
    cannot set headers on a WebSocket, so besides ``Authorization`` and ``X-API-Key`` the
    credential may come as ``?access_token=`` — on this route only. Raises ``ApiProblem``
    (the identity errors are turned into their problems here: a WebSocket has no
    exception handlers)."""
    auth: AuthState = websocket.app.state.auth
    if not auth.on:
        return LOCAL
    given = websocket.query_params.get("access_token")
    try:
        credential = given.strip() if given is not None and given.strip() else _credential(websocket)
        principal = _identify(auth, credential)
    except IdentityError as exc:
        status, kind, headers = _identity_problem(exc)
        raise ApiProblem(status, kind, str(exc), headers=headers) from None
    rule = POLICY[WEBSOCKET_OPERATION]
    if rule is not None:
        authorize(principal, rule)
    return principal


def rule_of(request: Request) -> Rule | None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):  # pragma: no cover - guard sits on API routes only
        raise ApiProblem(403, "forbidden", "no policy for this route")
    return POLICY[operation_id(route)]


def authorize(principal: Principal, rule: Rule) -> None:
    if not rule.allows_role(principal.role):
        raise ApiProblem(
            403, "insufficient-role", f"the role {principal.role} may not do this ({describe(rule)})"
        )
    if principal.via == "api_key" and not rule.allows_scopes(principal.scopes):
        raise ApiProblem(403, "insufficient-role", f"this API key lacks the scope {rule.scope}")


async def guard(request: Request) -> None:
    """The dependency of every route: who is calling, and may they. Checking a credential
    may read the database (a key, a user's role), so that runs on the thread pool; an open
    API (no credential to check) costs no thread hop."""
    rule = rule_of(request)
    if rule is None:
        return
    auth: AuthState = request.app.state.auth
    principal = await run_in_threadpool(authenticate, request) if auth.on else LOCAL
    request.state.principal = principal
    authorize(principal, rule)


# -- errors ------------------------------------------------------------------------------


def _identity_problem(exc: IdentityError) -> tuple[int, str, dict[str, str] | None]:
    if isinstance(exc, TooManyAttempts):
        return 429, "too-many-requests", {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, TokenExpired):
        return 401, "token-expired", _INVALID
    if isinstance(exc, TokenInvalid):
        return 401, "token-invalid", _INVALID
    if isinstance(exc, KeyRevoked):
        return 401, "key-revoked", _INVALID
    if isinstance(exc, (BadCredentials, NotAuthenticated)):
        return 401, "unauthorized", _BEARER
    if isinstance(exc, IdentityNotFound):
        return 404, "not-found", None
    if isinstance(exc, IdentityConflict):
        return 409, "conflict", None
    return 422, "value-refused", None


async def _on_identity_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, IdentityError)
    status, kind, headers = _identity_problem(exc)
    extra: dict[str, Any] = {}
    errors: list[FieldError] = []
    if isinstance(exc, IdentityValueError):
        errors = [FieldError(loc=["body", exc.field], msg=exc.reason, type="value_error")]
        extra = {"field": exc.field, "reason": exc.reason}
    return error_response(status, str(exc), errors, headers, kind=kind, instance=request.url.path, **extra)


def install_identity_errors(app: FastAPI) -> None:
    app.add_exception_handler(IdentityError, _on_identity_error)


# -- the policy and the app --------------------------------------------------------------


def operations(app: FastAPI) -> dict[str, APIRoute]:
    """Every API route of ``app`` by operation id."""
    found: dict[str, APIRoute] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found[operation_id(route)] = route
    return found


def check_policy(app: FastAPI) -> None:
    """Refuse an app with a route the policy does not name, or a rule naming no route."""
    ops = set(operations(app))
    missing = sorted(ops - set(POLICY))
    if missing:
        raise RuntimeError(
            f"operations {', '.join(missing)} have no rule in api._policy.POLICY: say which roles may call them"
        )
    stale = sorted(set(POLICY) - ops)
    if stale:
        raise RuntimeError(f"api._policy.POLICY names operations no route has: {', '.join(stale)}")


_PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "an access token (JWT) from /api/v1/auth/token, an API key bsk_…, or the service token",
    },
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "an API key bsk_…"},
    "password": {
        "type": "oauth2",
        "description": "OAuth2 password grant; refresh with grant_type=refresh_token",
        "flows": {
            "password": {"tokenUrl": "/api/v1/auth/token", "refreshUrl": "/api/v1/auth/token", "scopes": {}}
        },
    },
}


def annotate_policy(app: FastAPI) -> None:
    """Each operation of the OpenAPI document names its roles: ``x-roles``,
    ``x-api-key-scope``, a sentence of its description, its 401 and 403 answers."""
    build = app.openapi
    annotated: list[bool] = []

    def openapi() -> dict[str, Any]:
        doc = build()
        if annotated:
            return doc
        annotated.append(True)
        doc.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for item in doc.get("paths", {}).values():
            for operation in item.values():
                op_id = operation.get("operationId")
                if op_id not in POLICY:
                    continue
                rule = POLICY[op_id]
                operation["description"] = (
                    f"{operation.get('description', '').rstrip()}\n\n{describe(rule)}".strip()
                )
                if rule is None:
                    operation["security"] = []
                    continue
                operation["x-roles"] = sorted(rule.roles)
                operation["x-api-key-scope"] = rule.scope
                operation["security"] = [{"bearer": []}, {"apiKey": []}, {"password": []}]
                responses = operation.setdefault("responses", {})
                responses.setdefault(
                    "401",
                    {
                        "description": "no valid credential: unauthorized, token-expired, token-invalid, key-revoked",
                        "content": _PROBLEM,
                    },
                )
                responses.setdefault(
                    "403",
                    {
                        "description": "insufficient-role, or out-of-scope for another store",
                        "content": _PROBLEM,
                    },
                )
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
