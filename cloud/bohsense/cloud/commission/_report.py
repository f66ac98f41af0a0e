"""The checklist as a report: JSON, and one self-contained HTML page (no script, no link,
no font or image to fetch: it opens from a file or an e-mail as it is, and prints)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape

from ._verify import FAIL, MISSING, PASS, Checklist

__all__ = ["checklist_html", "checklist_json"]

_TITLES = {
    "gateway": "Gateway",
    "device": "Devices report",
    "lane": "Lane weights are plausible for their SKU",
    "asset": "Asset sensors are live",
}
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1b1b1b}
h1{font-size:1.5em;margin:0 0 .2em} h2{font-size:1.1em;margin:1.6em 0 .4em}
.meta{color:#555} table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4} .badge{display:inline-block;min-width:5.5em;text-align:center;
border-radius:3px;padding:.05em .4em;font-weight:600;color:#fff}
.pass{background:#1e7d32} .fail{background:#c62828} .missing{background:#8d6e00}
.summary span{margin-right:1.2em} @media print{.badge{color:#000;border:1px solid #000}}
"""


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def checklist_json(checklist: Checklist) -> str:
    return json.dumps(checklist.to_dict(), indent=2, sort_keys=False)


def checklist_html(checklist: Checklist) -> str:
    s = checklist.summary
    verdict = "Store ready" if checklist.ok else "Store not ready"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Commissioning checklist: {escape(checklist.site)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Commissioning checklist: {escape(checklist.site)}</h1>",
        f'<p class="meta">Gateway {escape(checklist.gateway)} · checked {_when(checklist.generated_ns)}'
        f" · hand-over sheet imported {_when(checklist.imported_ns)}"
        f" · data counts as live for {checklist.max_age_s:g} s · lane tolerance ±{checklist.tolerance:g} unit</p>",
        f'<p class="summary" id="verdict"><strong>{verdict}</strong>: '
        f'<span><b class="badge pass">{s[PASS]}</b> pass</span>'
        f'<span><b class="badge fail">{s[FAIL]}</b> fail</span>'
        f'<span><b class="badge missing">{s[MISSING]}</b> missing</span></p>',
    ]
    for check, title in _TITLES.items():
        items = [i for i in checklist.items if i.check == check]
        if not items:
            continue
        parts += [
            f"<h2>{escape(title)}</h2>",
            "<table><thead><tr><th>Status</th><th>Item</th><th>Reason</th></tr></thead><tbody>",
        ]
        for i in items:
            parts.append(
                f'<tr data-check="{escape(i.check)}" data-subject="{escape(i.subject)}" data-status="{i.status}">'
                f'<td><span class="badge {i.status}">{i.status}</span></td>'
                f"<td>{escape(i.subject)}</td><td>{escape(i.reason)}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
