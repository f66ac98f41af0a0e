"""How weak a broker password is: a compact, honest check instead of an exact deny list.

``weakness(password, username)`` returns why a password must be refused, or None:

- ``empty``;
- ``common``: the password is, or is built on, one of the most common passwords
  (``_COMMON``: the top of the public breach-corpus lists, plus the defaults of MQTT
  brokers, Linux images and this project). Compared case-folded, also after undoing
  the usual substitutions (``p@ssw0rd``) and after removing what people tack on at the
  ends (digits and punctuation: ``Password1!``, ``changeme2024``);
- ``username``: it is the username, contains it (a username of 3+ characters), or is
  contained in it;
- ``repetitive``: fewer than 5 distinct characters, or one run of consecutive keys
  (``abcdefgh``, ``98765432``);
- ``too-short``: under 8 characters;
- ``low-entropy``: under 40 bits by ``length × log2(alphabet)``, the alphabet being the
  character classes used (26 lower, 26 upper, 10 digits, 33 others), i.e. 8 digits or
  8 lower-case letters alone are refused, 9 characters of three classes pass.

This estimates an attacker's guesses from the outside only; it is a floor that catches
the passwords that get guessed, not a proof of strength. A generated secret of 16+
random characters passes every rule.
"""

from __future__ import annotations

import itertools
import math
import string

__all__ = ["MIN_BITS", "MIN_LENGTH", "weakness"]

MIN_LENGTH = 8
MIN_BITS = 40.0
_MIN_DISTINCT = 5
_MIN_USER = 3  # a shorter username is found in too many good passwords to mean anything

_COMMON = frozenset(
    [
        "123456",
        "123456789",
        "12345678",
        "12345",
        "1234567",
        "1234567890",
        "1234",
        "111111",
        "000000",
        "123123",
        "654321",
        "666666",
        "121212",
        "112233",
        "123321",
        "987654321",
        "7777777",
        "888888",
        "999999",
        "555555",
        "11111111",
        "00000000",
        "password",
        "passw0rd",
        "password1",
        "password123",
        "pass",
        "pass123",
        "passwd",
        "qwerty",
        "qwerty123",
        "qwertyuiop",
        "qwer1234",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "1qaz2wsx",
        "zaq12wsx",
        "zaq1zaq1",
        "qazwsx",
        "asdfgh",
        "asdfghjkl",
        "asdf1234",
        "zxcvbnm",
        "abc123",
        "abcd1234",
        "a1b2c3d4",
        "aa123456",
        "iloveyou",
        "iloveu",
        "loveme",
        "lovely",
        "letmein",
        "welcome",
        "welcome1",
        "monkey",
        "dragon",
        "master",
        "shadow",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "basketball",
        "soccer",
        "hockey",
        "superman",
        "batman",
        "starwars",
        "pokemon",
        "michael",
        "jordan",
        "jennifer",
        "charlie",
        "hunter",
        "hunter2",
        "thomas",
        "jessica",
        "ashley",
        "daniel",
        "andrew",
        "joshua",
        "matthew",
        "freedom",
        "whatever",
        "trustno1",
        "mustang",
        "ninja",
        "killer",
        "hello",
        "hello123",
        "secret",
        "secret123",
        "letmein1",
        "access",
        "computer",
        "internet",
        "login",
        "default",
        "changeme",
        "change-me",
        "changeit",
        "admin",
        "admin123",
        "administrator",
        "root",
        "toor",
        "guest",
        "test",
        "test123",
        "tester",
        "demo",
        "user",
        "user123",
        "temp",
        "temporary",
        "raspberry",
        "raspberrypi",
        "ubuntu",
        "debian",
        "linux",
        "centos",
        "system",
        "manager",
        "operator",
        "service",
        "support",
        "public",
        "private",
        "mqtt",
        "mosquitto",
        "broker",
        "gateway",
        "edge",
        "store",
        "shop",
        "retail",
        "iot",
        "sensor",
        "device",
        "bohsense",
        "cloud",
        "server",
        "router",
        "network",
        "wifi",
        "office",
        "company",
        "business",
        "summer",
        "winter",
        "spring",
        "autumn",
        "monday",
        "friday",
        "january",
        "august",
        "september",
        "october",
        "november",
        "december",
        "flower",
        "pepper",
        "cookie",
        "cheese",
        "chocolate",
        "banana",
        "orange",
        "purple",
        "silver",
        "golden",
        "diamond",
        "starlight",
        "sunflower",
        "butterfly",
        "angel",
        "blessed",
        "family",
        "forever",
        "friends",
    ]
)
_LEET = str.maketrans(
    {
        "@": "a",
        "4": "a",
        "8": "b",
        "3": "e",
        "1": "i",
        "!": "i",
        "0": "o",
        "$": "s",
        "5": "s",
        "7": "t",
        "+": "t",
    }
)
_ENDS = string.digits + string.punctuation + " "
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", string.ascii_lowercase)


def _variants(folded: str) -> set[str]:
    """The password as people build it from a common one: folded, de-leeted, ends stripped."""
    out = {folded, folded.strip(_ENDS), folded.rstrip(_ENDS), folded.lstrip(_ENDS)}
    out |= {v.translate(_LEET) for v in out}
    out |= {v.strip(_ENDS) for v in out}
    return {v for v in out if v}


def _is_run(folded: str) -> bool:
    """One run of consecutive characters or keys, forwards or backwards."""
    if len(folded) < 3:
        return False
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(folded)}
    if steps <= {1} or steps <= {-1}:
        return True
    return any(folded in row or folded in row[::-1] for row in _ROWS)


def _bits(password: str) -> float:
    pool = 0
    if any(c in string.ascii_lowercase for c in password):
        pool += 26
    if any(c in string.ascii_uppercase for c in password):
        pool += 26
    if any(c in string.digits for c in password):
        pool += 10
    if any(not c.isascii() or c in string.punctuation or c == " " for c in password):
        pool += 33
    return len(password) * math.log2(max(pool, 2))


def weakness(password: str, username: str = "") -> str | None:
    """Why ``password`` must be refused (a short reason, see the module doc), or None."""
    if not password:
        return "empty"
    folded = password.casefold()
    if _variants(folded) & _COMMON:
        return "common"
    user = username.casefold()
    if user and (user == folded or (len(user) >= _MIN_USER and user in folded) or folded in user):
        return "username"
    if len(set(folded)) < _MIN_DISTINCT or _is_run(folded):
        return "repetitive"
    if len(password) < MIN_LENGTH:
        return "too-short"
    if _bits(password) < MIN_BITS:
        return "low-entropy"
    return None
