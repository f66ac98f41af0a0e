"""Users, API keys and refresh tokens in the BOH database (tables of migration 0017).

Each method is one transaction. Nothing here decides who may do what (``_authority``
does); this module only keeps the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine, select, update

from ..boh._db import session
from ..boh._models import ApiKey, RefreshToken, User
from ._errors import IdentityConflict, IdentityNotFound
from ._records import ApiKeyRecord, UserRecord

__all__ = ["UNSET", "IdentityStore"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: "leave as it is" for an update
UNSET: Any = _Unset()


def _sites(value: list[Any] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(s) for s in value)


def _user(row: User) -> UserRecord:
    return UserRecord(
        name=row.name,
        display_name=row.display_name,
        role=row.role,
        sites=_sites(row.sites),
        disabled=row.disabled,
        language=row.language,
        has_password=bool(row.password_hash),
        created_ns=row.created_ns,
        updated_ns=row.updated_ns,
    )


def _key(row: ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        role=row.role,
        scopes=tuple(str(s) for s in row.scopes),
        sites=_sites(row.sites),
        created_by=row.created_by,
        created_ns=row.created_ns,
        expires_ns=row.expires_ns,
        revoked_ns=row.revoked_ns,
        last_used_ns=row.last_used_ns,
    )


class IdentityStore:
    def __init__(self, engine: Engine, *, clock: Callable[[], int]) -> None:
        self._engine, self._clock = engine, clock

    # -- users ---------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        role: str,
        password_hash: str,
        sites: tuple[str, ...] | None,
        display_name: str = "",
        language: str | None = None,
    ) -> UserRecord:
        now = self._clock()
        with session(self._engine, write=True) as s:
            if s.get(User, name) is not None:
                raise IdentityConflict(f"user {name!r} exists")
            row = User(
                name=name,
                display_name=display_name,
                role=role,
                sites=list(sites) if sites is not None else None,
                password_hash=password_hash,
                disabled=False,
                language=language,
                created_ns=now,
                updated_ns=now,
            )
            s.add(row)
            s.flush()
            return _user(row)

    def users(self) -> list[UserRecord]:
        with session(self._engine) as s:
            return [_user(r) for r in s.scalars(select(User).order_by(User.name))]

    def user(self, name: str) -> UserRecord | None:
        with session(self._engine) as s:
            row = s.get(User, name)
            return _user(row) if row is not None else None

    def user_with_hash(self, name: str) -> tuple[UserRecord, str] | None:
        with session(self._engine) as s:
            row = s.get(User, name)
            return (_user(row), row.password_hash) if row is not None else None

    def update_user(
        self,
        name: str,
        *,
        role: str = UNSET,
        sites: tuple[str, ...] | None = UNSET,
        disabled: bool = UNSET,
        password_hash: str = UNSET,
        display_name: str = UNSET,
        language: str | None = UNSET,
    ) -> UserRecord:
        """Change a user; disabling one or setting its password ends its sign-ins (every
        refresh token revoked)."""
        now = self._clock()
        with session(self._engine, write=True) as s:
            row = s.get(User, name, with_for_update=True)
            if row is None:
                raise IdentityNotFound(f"no user {name!r}")
            if role is not UNSET:
                row.role = role
            if sites is not UNSET:
                row.sites = list(sites) if sites is not None else None
            if disabled is not UNSET:
                row.disabled = disabled
            if password_hash is not UNSET:
                row.password_hash = password_hash
            if display_name is not UNSET:
                row.display_name = display_name
            if language is not UNSET:
                row.language = language
            row.updated_ns = now
            if disabled is True or password_hash is not UNSET or role is not UNSET or sites is not UNSET:
                s.execute(
                    update(RefreshToken)
                    .where(RefreshToken.user_name == name, RefreshToken.revoked_ns.is_(None))
                    .values(revoked_ns=now)
                )
            s.flush()
            return _user(row)

    # -- API keys ------------------------------------------------------------------------

    def add_key(
        self,
        *,
        name: str,
        prefix: str,
        secret_hash: str,
        role: str,
        scopes: Iterable[str],
        sites: tuple[str, ...] | None,
        created_by: str,
        expires_ns: int | None,
    ) -> ApiKeyRecord:
        with session(self._engine, write=True) as s:
            row = ApiKey(
                name=name,
                prefix=prefix,
                secret_hash=secret_hash,
                role=role,
                scopes=list(scopes),
                sites=list(sites) if sites is not None else None,
                created_by=created_by,
                created_ns=self._clock(),
                expires_ns=expires_ns,
                revoked_ns=None,
                last_used_ns=None,
            )
            s.add(row)
            s.flush()
            return _key(row)

    def api_keys(self) -> list[ApiKeyRecord]:
        with session(self._engine) as s:
            return [_key(r) for r in s.scalars(select(ApiKey).order_by(ApiKey.id))]

    def key_by_prefix(self, prefix: str) -> tuple[ApiKeyRecord, str] | None:
        with session(self._engine) as s:
            row = s.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
            return (_key(row), row.secret_hash) if row is not None else None

    def revoke_key(self, key_id: int) -> ApiKeyRecord:
        """Revoke a key (revoking a revoked key keeps its first revocation time)."""
        with session(self._engine, write=True) as s:
            row = s.get(ApiKey, key_id, with_for_update=True)
            if row is None:
                raise IdentityNotFound(f"no API key {key_id}")
            if row.revoked_ns is None:
                row.revoked_ns = self._clock()
            s.flush()
            return _key(row)

    def touch_key(self, key_id: int, at_ns: int) -> None:
        with session(self._engine, write=True) as s:
            s.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_ns=at_ns))

    # -- refresh tokens ------------------------------------------------------------------

    def add_refresh(self, token_hash: str, *, family: str, user: str, expires_ns: int) -> None:
        with session(self._engine, write=True) as s:
            s.add(
                RefreshToken(
                    token_hash=token_hash,
                    family=family,
                    user_name=user,
                    issued_ns=self._clock(),
                    expires_ns=expires_ns,
                    used_ns=None,
                    revoked_ns=None,
                )
            )

    def use_refresh(self, token_hash: str) -> tuple[str, str, int] | tuple[str, str, None] | None:
        """Mark a refresh token used, in one transaction: (user, family, expires_ns) when it
        was valid to use; (user, family, None) when it had been used or revoked already
        (its whole family is revoked now: a reuse means it was stolen); None if unknown."""
        now = self._clock()
        with session(self._engine, write=True) as s:
            row = s.get(RefreshToken, token_hash, with_for_update=True)
            if row is None:
                return None
            if row.used_ns is not None or row.revoked_ns is not None:
                self._revoke_family(s, row.family, now)
                return row.user_name, row.family, None
            row.used_ns = now
            return row.user_name, row.family, row.expires_ns

    def revoke_refresh(self, token_hash: str) -> bool:
        """Revoke the family of a refresh token (sign-out); False if unknown."""
        with session(self._engine, write=True) as s:
            row = s.get(RefreshToken, token_hash)
            if row is None:
                return False
            self._revoke_family(s, row.family, self._clock())
            return True

    @staticmethod
    def _revoke_family(s: Any, family: str, now: int) -> None:
        s.execute(
            update(RefreshToken)
            .where(RefreshToken.family == family, RefreshToken.revoked_ns.is_(None))
            .values(revoked_ns=now)
        )
