"""The people of the two seeded stores, one per role, created in the BOH database the way
an administrator's tools do (the identity authority's ``add_user``)."""

from __future__ import annotations

from bohsense.cloud.boh import BohCore
from bohsense.cloud.identity import Authority, AuthorityConfig

#: the HS256 key of the served app's access tokens (a test key: long, not a default)
JWT_SECRET = "dashboard-tests-" + "7f3a9c1e5b2d4086a1c3e5f7092b4d6e"
PASSWORD = "shelves-and-orders-42"
#: user name -> (role, stores; None: every store)
PEOPLE: dict[str, tuple[str, list[str] | None]] = {
    "tech-a": ("technician", ["store-a"]),
    "tech-b": ("technician", ["store-b"]),
    "manager-a": ("store_manager", ["store-a"]),
    "planner-b": ("planner", ["store-b"]),
    "hq": ("hq", None),
    "admin": ("admin", None),
}


def identity_config() -> AuthorityConfig:
    return AuthorityConfig(jwt_secret=JWT_SECRET)


def add_people(database_url: str) -> None:
    core = BohCore(database_url)
    try:
        authority = Authority(core.engine, identity_config())
        for name, (role, sites) in PEOPLE.items():
            authority.add_user(name, role=role, password=PASSWORD, sites=sites, display_name=name.title())
    finally:
        core.close()
