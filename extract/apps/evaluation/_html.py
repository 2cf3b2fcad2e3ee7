"""An evaluation report as one self-contained HTML page: the systems side by side,
per-field F1 bars, and every document's differences from gold. No script, no network."""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.bar { display: inline-block; height: 10px; background: #3a7; vertical-align: middle; }
.track { display: inline-block; width: 120px; background: #eee; margin-right: 6px; }
.wrong { background: #fde8e8; }
pre { margin: 0; white-space: pre-wrap; font-size: 12px; }
details { margin: .3em 0; }
"""


def to_html(report: dict[str, Any]) -> str:
    """The page of a report's JSON form (``EvalReport.to_json()``)."""
    figures = report["systems"]
    target = escape(str(report["target"]))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Evaluation: {target}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Evaluation: {target}</h1>",
        _overview(figures),
        "<h2>F1 per field</h2>",
        _fields(figures),
        *_confidence(figures),
        "<h2>Documents</h2>",
        *(_document(doc_id, runs) for doc_id, runs in _by_document(report["documents"])),
        "</body></html>",
    ]
    return "\n".join(parts)


def _overview(figures: dict[str, Any]) -> str:
    rows = ["<table id='systems'><tr><th>system</th><th>valid</th><th>precision</th>"
            "<th>recall</th><th>F1</th><th>records/s</th></tr>"]  # fmt: skip
    for name, s in figures.items():
        m = s["micro"]
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{s['valid']:.0%}</td><td>{m['precision']:.3f}</td>"
            f"<td>{m['recall']:.3f}</td><td>{m['f1']:.3f}</td><td>{s['records_per_s']:.2f}</td></tr>"
        )
    return "".join(rows) + "</table>"


def _fields(figures: dict[str, Any]) -> str:
    names = list(figures)
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    rows = [f"<table id='fields'><tr><th>field</th><th>support</th>{head}</tr>"]
    paths = sorted({p for s in figures.values() for p in (*s["fields"], *s["items"])})
    for path in paths:
        cells, support = [], 0
        for s in figures.values():
            entry = s["fields"].get(path) or s["items"].get(path)
            if entry is None:
                cells.append("<td></td>")
                continue
            support = max(support, entry["support"])
            width = round(120 * entry["f1"])
            cells.append(
                f"<td data-f1='{entry['f1']:.3f}'><span class='track'><span class='bar' "
                f"style='width:{width}px'></span></span>{entry['f1']:.3f}</td>"
            )
        rows.append(f"<tr><td>{escape(path)}</td><td>{support}</td>{''.join(cells)}</tr>")
    return "".join(rows) + "</table>"


def _confidence(figures: dict[str, Any]) -> list[str]:
    """How well each system's confidences tell right values from wrong ones: the
    figures, then its reliability table (values and accuracy per confidence bucket)."""
    calibrated = {name: s["calibration"] for name, s in figures.items() if "calibration" in s}
    if not calibrated:
        return []

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    out = ["<h2>Confidence</h2>"]
    for name, c in calibrated.items():
        coverage = next(k for k in c if k.startswith("coverage_at_"))
        rows = [
            f"<h3>{escape(name)} ({escape(c['source'])})</h3><table class='confidence'>"
            "<tr><th>field</th><th>values</th><th>right</th><th>AUROC</th><th>ECE</th>"
            f"<th>keepable at precision {escape(coverage.removeprefix('coverage_at_'))}</th></tr>"
        ]
        for label, f in [("all", c), *c["fields"].items()]:
            rows.append(
                f"<tr><td>{escape(label)}</td><td>{f['values']}</td><td>{f['accuracy']:.0%}</td>"
                f"<td>{number(f['auroc'])}</td><td>{number(f['ece'])}</td>"
                f"<td>{f[coverage]:.0%}</td></tr>"
            )
        rows.append("</table><table class='reliability'><tr><th>confidence</th><th>values</th>"
                    "<th>mean</th><th>right</th></tr>")  # fmt: skip
        for b in c["reliability"]:
            rows.append(
                f"<tr><td>{b['low']:.1f}-{b['high']:.1f}</td><td>{b['values']}</td>"
                f"<td>{b['confidence']:.2f}</td><td>{b['accuracy']:.0%}</td></tr>"
            )
        out.append("".join(rows) + "</table>")
    return out


def _by_document(runs: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        grouped.setdefault(str(run["id"]), []).append(run)
    return list(grouped.items())


def _f1(run: dict[str, Any]) -> float:
    tp = sum(c["tp"] for c in run["fields"].values())
    fp = sum(c["fp"] for c in run["fields"].values())
    fn = sum(c["fn"] for c in run["fields"].values())
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def _document(doc_id: str, runs: list[dict[str, Any]]) -> str:
    wrong = any(_f1(r) < 1 or not r["valid"] for r in runs)
    summary = f"{escape(doc_id)}: " + ", ".join(
        f"{escape(r['system'])} F1 {_f1(r):.2f}" for r in runs
    )
    out = [f"<details class='document{' wrong' if wrong else ''}'><summary>{summary}</summary>"]
    out.append(
        f"<table><tr><th>gold</th></tr><tr><td><pre>{_json(runs[0]['gold'])}</pre></td></tr>"
    )
    for run in runs:
        errors = [
            f"{escape(path)}: {c['fp']} invented, {c['fn']} missed"
            for path, c in sorted(run["fields"].items())
            if c["fp"] or c["fn"]
        ]
        if run["error_type"]:
            errors.insert(0, escape(f"{run['error_type']}: {run['message']}"))
        out.append(
            f"<tr><th>{escape(run['system'])} (run {run['run']})</th></tr>"
            f"<tr><td><pre>{_json(run['prediction'])}</pre>"
            f"<ul>{''.join(f'<li>{e}</li>' for e in errors)}</ul></td></tr>"
        )
    out.append("</table></details>")
    return "".join(out)


def _json(value: Any) -> str:
    return escape(json.dumps(value, ensure_ascii=False, indent=1))
