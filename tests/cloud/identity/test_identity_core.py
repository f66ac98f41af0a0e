"""The identity core without HTTP: the sign-in limiter, the key format, tokens, passwords,
refresh families."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
from argon2 import PasswordHasher

from bohsense.cloud.boh import BohCore
from bohsense.cloud.identity import (
    Authority,
    AuthorityConfig,
    BadCredentials,
    IdentityValueError,
    JwtIssuer,
    LoginLimiter,
    Passwords,
    TokenExpired,
    TokenInvalid,
    TooManyAttempts,
)
from bohsense.cloud.identity._keys import new_key, parse_key

SECRET = "a-test-secret-of-more-than-32-bytes-Zq81"
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_the_limiter_refuses_after_n_failures_until_the_oldest_leaves_the_window() -> None:
    clock = Clock()
    limiter = LoginLimiter(3, 60, clock=clock)
    for _ in range(3):
        assert limiter.retry_after(["u"]) is None
        limiter.failed(["u"])
        clock.t += 10
    assert limiter.retry_after(["u"]) == 30  # the first failure (t=1000) leaves at 1060; now 1030
    assert limiter.retry_after(["other"]) is None
    clock.t = 1060.5
    assert limiter.retry_after(["u"]) is None
    limiter.failed(["u"])
    assert limiter.retry_after(["u"]) is not None  # 1010, 1020 and now: three within the window
    limiter.succeeded("u")
    assert limiter.retry_after(["u"]) is None


def test_the_limiter_keeps_a_bounded_number_of_keys() -> None:
    limiter = LoginLimiter(1, 60, clock=Clock(), max_keys=100)
    for i in range(1000):
        limiter.failed([f"addr:{i}"])
    assert limiter.retry_after(["addr:999"]) is not None
    assert limiter.retry_after(["addr:0"]) is None  # forgotten, oldest first
    assert len(limiter._failures) == 100


def test_a_key_parses_back_and_nothing_else_does() -> None:
    key, prefix, _ = new_key()
    assert key.startswith(f"bsk_{prefix}_")
    assert parse_key(key) == (prefix, key.split("_", 2)[2])
    for bad in ("bsk_", key + "x", key.replace("bsk_", "bsx_"), "bsk_ABCDEF123456_" + "a" * 43, key[:-1]):
        assert parse_key(bad) is None, bad


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_an_access_token_is_verified_for_its_algorithm_audience_issuer_and_expiry() -> None:
    clock = Clock(time.time())
    issuer = JwtIssuer(SECRET, ttl_s=60, clock=clock)
    token, claims = issuer.issue("ann", "planner", ("S1", "S2"))
    assert issuer.verify(token) == claims
    assert claims.expires_at - claims.issued_at == 60
    clock.t -= 75  # issued 75 s ago: past its 60 s and the 10 s leeway
    old, _ = issuer.issue("ann", "planner", None)
    with pytest.raises(TokenExpired):
        issuer.verify(old)
    clock.t += 10  # 65 s ago: within the leeway
    assert issuer.verify(issuer.issue("ann", "planner", None)[0]).subject == "ann"
    hs512 = jwt.encode({"sub": "ann", "role": "admin", "iat": 1, "exp": 2**40, "jti": "j", "iss": "bohsense", "aud": "bohsense-api"}, SECRET, algorithm="HS512")  # fmt: skip
    with pytest.raises(TokenInvalid):
        issuer.verify(hs512)
    with pytest.raises(TokenInvalid):
        JwtIssuer("another-secret-of-more-than-32-bytes-Q", ttl_s=60, clock=time.time).verify(token)


def test_a_password_is_argon2id_and_an_unknown_user_is_checked_against_a_dummy() -> None:
    calls: list[str] = []

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            calls.append(str(hash)[:9])
            return super().verify(hash, password)

    passwords = Passwords(Spy(time_cost=1, memory_cost=8, parallelism=1))
    stored = passwords.hash("a good password")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "a good password")
    assert not passwords.verify(stored, "a bad password")
    assert not passwords.verify(None, "a good password")
    assert not passwords.verify("", "anything")
    assert calls == ["$argon2id"] * 4  # the same work whether there is a hash or not


@pytest.fixture
def authority(db_url: str) -> Iterator[Authority]:
    core = BohCore(db_url)
    yield Authority(
        core.engine, AuthorityConfig(jwt_secret=SECRET, login_max_failures=2), passwords=Passwords(CHEAP)
    )
    core.close()


def test_sign_in_refresh_and_the_family_revoked_on_reuse(authority: Authority) -> None:
    authority.add_user("ann", role="hq", password="a good password")
    first = authority.login("ann", "a good password", client="1.2.3.4")
    second = authority.refresh(first.refresh_token)
    third = authority.refresh(second.refresh_token)
    with pytest.raises(TokenInvalid):
        authority.refresh(first.refresh_token)  # reuse: the whole family goes
    with pytest.raises(TokenInvalid):
        authority.refresh(third.refresh_token)
    other = authority.login("ann", "a good password", client="1.2.3.4")  # another sign-in is untouched
    assert authority.refresh(other.refresh_token).role == "hq"


def test_an_expired_refresh_token_is_token_expired(authority: Authority) -> None:
    authority.add_user("ann", role="hq", password="a good password")
    pair = authority.login("ann", "a good password", client="c")
    later = time.time_ns() + 9 * 3600 * 10**9
    authority._clock = lambda: later  # type: ignore[method-assign]
    authority.store._clock = lambda: later
    with pytest.raises(TokenExpired):
        authority.refresh(pair.refresh_token)


def test_sign_in_is_limited_and_says_nothing_of_the_user(authority: Authority) -> None:
    authority.add_user("ann", role="hq", password="a good password")
    for user in ("ann", "nobody"):
        with pytest.raises(BadCredentials) as caught:
            authority.login(user, "wrong password", client=f"c-{user}")
        assert "ann" not in str(caught.value)
        assert "nobody" not in str(caught.value)
    with pytest.raises(BadCredentials):
        authority.login("ann", "wrong password", client="c-3")
    with pytest.raises(TooManyAttempts) as limited:
        authority.login("ann", "a good password", client="c-4")
    assert limited.value.retry_after_s >= 1


def test_values_are_refused_with_the_field(authority: Authority) -> None:
    for kwargs, field in (
        ({"name": "ann", "role": "boss", "password": "a good password"}, "role"),
        ({"name": "-ann", "role": "hq", "password": "a good password"}, "name"),
        ({"name": "ann", "role": "hq", "password": "short"}, "password"),
        ({"name": "ann", "role": "hq", "password": "a good password", "sites": []}, "sites"),
    ):
        with pytest.raises(IdentityValueError) as caught:
            authority.add_user(**kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field
