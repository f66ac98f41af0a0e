"""Users and API keys (admin only; the policy says so).

- ``GET /users``, ``POST /users``, ``PATCH /users/{name}`` (role, stores, disabled,
  a new password, display name, language). Disabling a user, or changing its password,
  role or stores, revokes its refresh tokens; its access tokens stop working at once.
- ``GET /api-keys``, ``POST /api-keys`` (answers the key ``bsk_…`` once: only its hash is
  kept), ``DELETE /api-keys/{key_id}`` (revokes it; it stays listed).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import Field

from ...identity import ROLES, SCOPES, UNSET, UserRecord
from .._common import ApiModel, Id, RequestModel
from .._identity import PrincipalDep
from .._paging import PageDep
from .auth import AuthorityDep

router = APIRouter(tags=["users"])

UserName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@\-]*$")]
_ROLE: dict[str, Any] = {"enum": list(ROLES)}
_SCOPE_ITEMS: dict[str, Any] = {"items": {"enum": list(SCOPES)}}
_SITE = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class User(ApiModel):
    """A person who signs in: role, stores, state (never the password nor its hash)."""

    name: str
    display_name: str
    role: str = Field(json_schema_extra=_ROLE)
    sites: list[str] | None = Field(description="the stores the user sees; null: every store")
    disabled: bool
    language: str | None
    has_password: bool
    created_ns: int
    updated_ns: int


class UserIn(RequestModel):
    """A new user. Without a password it cannot sign in until one is set."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@\-]*$")
    role: str = Field(json_schema_extra=_ROLE)
    sites: list[_SITE] | None = Field(None, min_length=1, max_length=1000, description="null: every store")
    password: str | None = Field(None, min_length=1, max_length=1024, description="at least 10 characters")
    display_name: str = Field("", max_length=200)
    language: str | None = Field(
        None, min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
    )


class UserPatch(RequestModel):
    """Changes to a user: only the fields given change (``sites`` null: every store)."""

    role: str | None = Field(None, json_schema_extra=_ROLE)
    sites: list[_SITE] | None = Field(None, min_length=1, max_length=1000)
    disabled: bool | None = None
    password: str | None = Field(None, min_length=1, max_length=1024)
    display_name: str | None = Field(None, max_length=200)
    language: str | None = Field(
        None, min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
    )


class ApiKeyOut(ApiModel):
    """An API key as listed: never its secret."""

    id: int
    name: str
    prefix: str = Field(description="the key's public part: bsk_<prefix>_…")
    role: str = Field(json_schema_extra=_ROLE)
    scopes: list[str]
    sites: list[str] | None = Field(description="the stores the key sees; null: every store")
    created_by: str
    created_ns: int
    expires_ns: int | None
    revoked_ns: int | None
    last_used_ns: int | None
    active: bool


class ApiKeyIn(RequestModel):
    """A new API key for a machine: its role, scopes, stores and expiry."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@\-]*$")
    role: str = Field(json_schema_extra=_ROLE)
    scopes: list[str] = Field(min_length=1, max_length=len(SCOPES), json_schema_extra=_SCOPE_ITEMS)
    sites: list[_SITE] | None = Field(None, min_length=1, max_length=1000, description="null: every store")
    expires_ns: int | None = Field(None, ge=1, le=2**63 - 1, description="ns since the epoch; null: never")


class ApiKeyCreated(ApiKeyOut):
    """A new API key with its secret: shown this once, never again."""

    key: str = Field(description="bsk_<prefix>_<secret>: send as Authorization: Bearer or X-API-Key")


def _user(u: UserRecord) -> User:
    return User(
        name=u.name,
        display_name=u.display_name,
        role=u.role,
        sites=list(u.sites) if u.sites is not None else None,
        disabled=u.disabled,
        language=u.language,
        has_password=u.has_password,
        created_ns=u.created_ns,
        updated_ns=u.updated_ns,
    )


@router.get("/users", response_model=list[User], summary="List the users")
def list_users(authority: AuthorityDep, page: PageDep) -> list[User]:
    return [_user(u) for u in page.slice(authority.store.users())]


@router.post(
    "/users",
    response_model=User,
    status_code=status.HTTP_201_CREATED,
    summary="Add a user",
    responses={409: {"description": "a user of that name exists"}},
)
def create_user(body: UserIn, authority: AuthorityDep) -> User:
    return _user(
        authority.add_user(
            body.name,
            role=body.role,
            password=body.password,
            sites=body.sites,
            display_name=body.display_name,
            language=body.language,
        )
    )


@router.patch("/users/{name}", response_model=User, summary="Change a user's role, stores, state or password")
def update_user(name: UserName, body: UserPatch, authority: AuthorityDep) -> User:
    given = body.model_fields_set
    return _user(
        authority.update_user(
            name,
            role=body.role if "role" in given and body.role is not None else UNSET,
            sites=body.sites if "sites" in given else UNSET,
            disabled=body.disabled if "disabled" in given and body.disabled is not None else UNSET,
            password=body.password if "password" in given and body.password is not None else UNSET,
            display_name=body.display_name
            if "display_name" in given and body.display_name is not None
            else UNSET,
            language=body.language if "language" in given else UNSET,
        )
    )


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="List the API keys (never their secrets)")
def list_api_keys(authority: AuthorityDep, page: PageDep) -> list[ApiKeyOut]:
    now = authority.now()
    return [ApiKeyOut.model_validate(k.summary(now)) for k in page.slice(authority.store.api_keys())]


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (its secret is answered once)",
)
def create_api_key(body: ApiKeyIn, authority: AuthorityDep, principal: PrincipalDep) -> ApiKeyCreated:
    record, key = authority.create_key(
        body.name,
        role=body.role,
        scopes=body.scopes,
        sites=body.sites,
        expires_ns=body.expires_ns,
        created_by=principal.actor,
    )
    return ApiKeyCreated.model_validate({**record.summary(authority.now()), "key": key})


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
def revoke_api_key(key_id: Id, authority: AuthorityDep) -> ApiKeyOut:
    return ApiKeyOut.model_validate(authority.store.revoke_key(key_id).summary(authority.now()))
