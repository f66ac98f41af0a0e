"""The shape of an LLRP message: the tree of parameter types in wire order, with runs of
identically shaped siblings collapsed to one (91 power levels and 81 have one shape)."""

from __future__ import annotations

import dataclasses
from typing import Any

from bohsense.llrp import Custom, Message, Parameter, RawParameter
from bohsense.llrp._schema import layout

Shape = tuple[int, tuple["Shape", ...]]


def _children(obj: Any) -> list[Parameter | tuple[int, Any]]:
    out: list[Any] = []
    lay = layout(type(obj))
    for child in lay.children:
        got = getattr(obj, child.name)
        if got is None or got == ():
            continue
        if hasattr(child, "type_num"):  # a TV or single-value parameter held as its value
            out.append((child.type_num, got))
        elif isinstance(got, tuple):
            out.extend(got)
        else:
            out.append(got)
    out.extend(getattr(obj, "extensions", ()))
    return out


def shape(obj: Any) -> Shape:
    if isinstance(obj, tuple):
        return (obj[0], ())
    if isinstance(obj, Custom):
        return (1023, ())
    if isinstance(obj, RawParameter):
        return (obj.type_num, ())
    kids: list[Shape] = []
    for child in _children(obj):
        s = shape(child)
        if not kids or kids[-1] != s:
            kids.append(s)
    return (type(obj).TYPE, tuple(kids))


def message_shape(message: Message) -> Shape:
    assert dataclasses.is_dataclass(message)
    return shape(message)
