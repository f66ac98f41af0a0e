"""The real-reader LLRP captures the conformance tests read (never copied into the repo).

They live beside the checkout, at ``<repo>/../shared/fixtures/llrp`` (see its README):
``impinj_sllurp/`` holds whole messages back to back, ``impinj_r420_edgex/`` holds
message bodies without their 10-byte header, each with EdgeX's JSON decoding beside it.
A missing capture fails the test that needs it, with the path it looked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.workspace import ROOT

CAPTURES = ROOT.parent / "shared" / "fixtures" / "llrp"

SLLURP = (
    "ro_access_reports_x45.bin",
    "reader_event_notification.bin",
    "get_reader_capabilities_response.bin",
)

# EdgeX body file stem → LLRP message type
EDGEX_TYPES = {
    "CloseConnectionResponse": 4,
    "GetAccessSpecsResponse": 54,
    "GetROSpecsResponse": 36,
    "GetReaderCapabilitiesResponse": 11,
    "GetReaderConfigResponse": 12,
    "ReaderEventNotification": 63,
    "ROAccessReport": 61,
}
EDGEX = (
    "CloseConnectionResponse-000",
    "GetAccessSpecsResponse-000",
    "GetROSpecsResponse-000",
    "GetReaderCapabilitiesResponse-000",
    "GetReaderConfigResponse-000",
    "ReaderEventNotification-000",
    *(f"roAccessReports/ROAccessReport-{i:03d}" for i in range(1, 10)),
)


def capture(relative: str) -> Path:
    path = CAPTURES / relative
    if not path.is_file():
        pytest.fail(
            f"LLRP capture {path} is missing: the conformance tests read the real-reader captures "
            f"from ../shared/fixtures/llrp beside the checkout (see its README.md)"
        )
    return path


def sllurp_bytes(name: str) -> bytes:
    return capture(f"impinj_sllurp/{name}").read_bytes()


def edgex_body(stem: str) -> tuple[int, bytes]:
    kind = Path(stem).name.split("-")[0]
    return EDGEX_TYPES[kind], capture(f"impinj_r420_edgex/{stem}.bytes").read_bytes()


def edgex_json(stem: str) -> Any:
    return json.loads(capture(f"impinj_r420_edgex/{stem}.json").read_text())
