"""Every error the cloud raises on purpose shares one root, ``CloudError``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import bohsense.cloud
from bohsense.cloud.errors import CloudError

# private control flow: raised to end a start-up, a loop or a cell's parse, and caught in
# the module that raises it; never seen by a caller of the package
INTERNAL = {"_CannotStart", "_Bad", "_Invalid", "_Refused"}


def test_every_exception_class_of_the_cloud_derives_from_cloud_error() -> None:
    seen: list[str] = []
    for info in pkgutil.walk_packages(bohsense.cloud.__path__, "bohsense.cloud."):
        if ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not issubclass(cls, BaseException) or name in INTERNAL:
                continue
            seen.append(name)
            assert issubclass(cls, CloudError), f"{info.name}.{name} does not derive from CloudError"
    assert {"BohError", "StorageError", "CoreUnavailable", "LinkError", "HandlerFailed"} <= set(seen)
