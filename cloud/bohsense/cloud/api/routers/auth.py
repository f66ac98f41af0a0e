"""Sign-in: the OAuth2 password grant, refresh, the caller, sign-out.

- ``POST /auth/token`` (``application/x-www-form-urlencoded``): ``grant_type=password``
  with ``username`` and ``password``, or ``grant_type=refresh_token`` with
  ``refresh_token``; answers an access token (a JWT, ``expires_in`` seconds), a new
  refresh token (each is used once), the role and the stores. A refused sign-in is 401
  ``unauthorized`` whatever the cause; too many failures for the user or the address
  429 ``too-many-requests`` with ``Retry-After``. Without ``jwt_secret`` there is no
  sign-in: 404.
- ``GET /auth/me``: the caller (user, API key or service token), its role and stores.
- ``POST /auth/logout``: revokes the refresh token given (and its whole sign-in).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from ...identity import Authority, TokenPair
from .._auth import AuthState
from .._common import ApiModel, RequestModel
from .._errors import ApiProblem, FieldError
from .._identity import PrincipalDep

router = APIRouter(prefix="/auth", tags=["auth"])

FORM = "application/x-www-form-urlencoded"
_FIELDS = ("grant_type", "username", "password", "refresh_token", "scope", "client_id")
_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["grant_type"],
    "additionalProperties": False,
    "properties": {
        "grant_type": {"type": "string", "enum": ["password", "refresh_token"]},
        "username": {"type": "string", "minLength": 1, "maxLength": 64},
        "password": {"type": "string", "minLength": 1, "maxLength": 1024},
        "refresh_token": {"type": "string", "minLength": 1, "maxLength": 256},
        "scope": {"type": "string", "maxLength": 256, "description": "ignored: the role decides"},
        "client_id": {"type": "string", "maxLength": 128, "description": "ignored"},
    },
}


async def _authority(request: Request) -> Authority:
    auth: AuthState = request.app.state.auth
    return auth.authority


AuthorityDep = Annotated[Authority, Depends(_authority)]


class TokenAnswer(ApiModel):
    """A signed-in session: a short-lived access token and the refresh token to renew it."""

    access_token: str = Field(description="send as Authorization: Bearer <access_token>")
    token_type: str = Field("bearer", json_schema_extra={"enum": ["bearer"]})
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str = Field(description="exchange once for a new pair (grant_type=refresh_token)")
    refresh_expires_in: int = Field(description="seconds the refresh token is valid")
    role: str
    sites: list[str] | None = Field(description="the stores the user sees; null: every store")


class Me(ApiModel):
    """The caller of the request: who, how authenticated, its role, stores and scopes."""

    name: str
    role: str
    sites: list[str] | None = Field(description="the stores the caller sees; null: every store")
    scopes: list[str] = Field(description="an API key's scopes (empty for people)")
    via: str = Field(json_schema_extra={"enum": ["jwt", "api_key", "token", "open"]})
    language: str | None = None


class LogoutBody(RequestModel):
    """The refresh token to revoke, with every token of its sign-in."""

    refresh_token: str = Field(min_length=1, max_length=256)


def _answer(pair: TokenPair, response: Response) -> TokenAnswer:
    response.headers["Cache-Control"] = "no-store"
    return TokenAnswer(
        access_token=pair.access_token,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_expires_in,
        role=pair.role,
        sites=list(pair.sites) if pair.sites is not None else None,
    )


def _refuse(field: str, msg: str) -> ApiProblem:
    return ApiProblem(
        422,
        "validation",
        f"body.{field}: {msg}",
        [FieldError(loc=["body", field], msg=msg, type="value_error")],
    )


async def _form(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != FORM:
        raise ApiProblem(415, "unsupported-media-type", f"send the token request as {FORM}")
    try:
        text = (await request.body()).decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError):
        raise ApiProblem(400, "malformed-body", "the body is not a URL-encoded form") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key not in _FIELDS:
            raise _refuse(key, "unknown field")
        if key in form:
            raise _refuse(key, "given twice")
        if "\x00" in value:
            raise _refuse(key, "must not contain NUL")
        form[key] = value
    return form


def _need(form: dict[str, str], field: str, limit: int) -> str:
    value = form.get(field)
    if not value:
        raise _refuse(field, "required")
    if len(value) > limit:
        raise _refuse(field, f"at most {limit} characters")
    return value


@router.post(
    "/token",
    response_model=TokenAnswer,
    summary="Sign in (OAuth2 password grant) or refresh",
    openapi_extra={"requestBody": {"required": True, "content": {FORM: {"schema": _FORM_SCHEMA}}}},
    responses={
        400: {"description": "the body is not a URL-encoded form"},
        401: {"description": "sign-in refused, or the refresh token expired, used or revoked"},
        404: {"description": "sign-in is not configured (no jwt_secret)"},
        415: {"description": "not a URL-encoded form"},
        429: {"description": "too many failed sign-ins: wait Retry-After seconds"},
    },
)
async def token(request: Request, response: Response, authority: AuthorityDep) -> TokenAnswer:
    form = await _form(request)
    grant = form.get("grant_type")
    if grant == "password":
        username, password = _need(form, "username", 64), _need(form, "password", 1024)
        client = request.client.host if request.client else "unknown"
        pair = await run_in_threadpool(authority.login, username, password, client=client)
    elif grant == "refresh_token":
        pair = await run_in_threadpool(authority.refresh, _need(form, "refresh_token", 256))
    else:
        raise _refuse("grant_type", "password or refresh_token")
    return _answer(pair, response)


@router.get("/me", response_model=Me, summary="The caller: who, its role and its stores")
def me(principal: PrincipalDep, authority: AuthorityDep) -> Me:
    language = None
    if principal.via == "jwt":
        user = authority.store.user(principal.subject)
        language = user.language if user is not None else None
    return Me(
        name=principal.subject,
        role=principal.role,
        sites=sorted(principal.sites) if principal.sites is not None else None,
        scopes=sorted(principal.scopes),
        via=principal.via,
        language=language,
    )


@router.post("/logout", status_code=204, summary="Revoke a refresh token and its sign-in")
def logout(body: LogoutBody, authority: AuthorityDep) -> Response:
    """Unknown or already revoked tokens are answered 204 too (nothing to tell a caller)."""
    authority.logout(body.refresh_token)
    return Response(status_code=204)
