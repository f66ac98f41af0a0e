"""The fuzz set's fixed budgets and the mutations of valid inputs every decoder gets.

Every property runs twice: in the default run with ``QUICK_EXAMPLES`` (300, fewer where one
example is a request through the app; a fixed number of examples,
derandomized, so CI sees the same inputs every time and stays within its budget), and with
``-m long`` on ``LONG_EXAMPLES`` (``BOHSENSE_FUZZ_EXAMPLES``, default 20,000), still
derandomized, for a deeper search before a release. ``both`` makes the two tests of one
property.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

__all__ = ["LONG_EXAMPLES", "QUICK_EXAMPLES", "both", "mutated"]

QUICK_EXAMPLES = 300
LONG_EXAMPLES = int(os.environ.get("BOHSENSE_FUZZ_EXAMPLES", "20000"))


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def both(
    prop: Callable[..., None], examples: int = QUICK_EXAMPLES, **strategies: st.SearchStrategy[Any]
) -> tuple[Any, Any]:
    """The default-run test (``examples``) and the ``long`` test of ``prop`` over ``strategies``."""
    quick = _settings(examples)(given(**strategies)(prop))
    deep = pytest.mark.long(_settings(LONG_EXAMPLES)(given(**strategies)(_copy(prop))))
    return quick, deep


def _copy(fn: Callable[..., None]) -> Callable[..., None]:
    """A second function object with ``fn``'s code: ``given`` marks what it wraps."""
    import functools
    import types

    new = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    functools.update_wrapper(new, fn)
    del new.__wrapped__
    return new


_edits = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), st.integers(min_value=0), st.integers(0, 7)),
        st.tuples(st.just("set"), st.integers(min_value=0), st.integers(0, 255)),
        st.tuples(st.just("cut"), st.integers(min_value=0), st.just(0)),
        st.tuples(st.just("drop"), st.integers(min_value=0), st.integers(1, 8)),
        st.tuples(st.just("insert"), st.integers(min_value=0), st.integers(0, 255)),
        st.tuples(st.just("extend"), st.integers(0, 64), st.integers(0, 255)),
    ),
    min_size=1,
    max_size=4,
)


def _apply(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for op, at, arg in edits:
        pos = at % (len(out) + 1)
        if op == "flip" and out:
            out[pos % len(out)] ^= 1 << arg
        elif op == "set" and out:
            out[pos % len(out)] = arg
        elif op == "cut":
            del out[pos:]
        elif op == "drop":
            del out[pos : pos + arg]
        elif op == "insert":
            out.insert(pos, arg)
        elif op == "extend":
            out += bytes([arg]) * (at + 1)
    return bytes(out)


def mutated(samples: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Valid inputs from ``samples`` with bit flips, overwritten, dropped or inserted bytes,
    truncation and extension applied."""
    return st.builds(_apply, samples, _edits)
