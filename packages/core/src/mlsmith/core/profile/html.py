"""The profile as one self-contained HTML page: inline CSS, no scripts, no external resources.

Every value that comes from the data (column names, categories, class labels, the title) passes
through ``_e`` (``html.escape`` with quotes); numbers are formatted here and escaped too. Bars are
divs whose only inline style is a width computed from numbers, never from data text.
"""

from __future__ import annotations

import html
import math
from typing import Any

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2430;
padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dde}
h3{font-size:1rem;margin:0 0 .4rem;word-break:break-all}
table{border-collapse:collapse;margin:.4rem 0}td,th{padding:2px 8px;border:1px solid #e3e6ee;
text-align:left;vertical-align:top}th{background:#f4f6fa}
.num{text-align:right;font-variant-numeric:tabular-nums}
.card{border:1px solid #dde;border-radius:6px;padding:.8rem 1rem;margin:.8rem 0}
.kind{font-size:.8rem;background:#eef;border-radius:4px;padding:1px 6px;margin-left:.4rem}
.warn{color:#8a4b00}.note{color:#555}
.hist{display:flex;align-items:flex-end;height:60px;gap:1px;margin:.4rem 0}
.hist div{background:#4a78c2;flex:1;min-height:1px}
.bar{background:#e9edf5;width:160px;height:10px;display:inline-block}
.bar div{background:#4a78c2;height:10px}
.corr td{width:2.6rem;font-size:.75rem;text-align:center}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"
    return str(value)


def _n(value: Any) -> str:
    """A number formatted and escaped (numbers from the result are still treated as untrusted)."""
    return _e(_fmt(value))


def _pct(part: float, whole: float) -> str:
    share = 0.0 if not whole else max(0.0, min(1.0, float(part) / float(whole)))
    return f"{100 * share:.1f}%"


def _bar(part: float, whole: float) -> str:
    return f'<span class="bar"><div style="width:{_pct(part, whole)}"></div></span>'


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(rows_) + "</tr>" for rows_ in rows)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><tr>{head}</tr>{body}</table>"


def render_html(profile: dict[str, Any], *, title: str = "Dataset profile") -> bytes:
    """The page for ``profile`` (a ``profile_frame`` result), UTF-8 encoded."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Profile of {_e(title)}</h1>",
        _overview(profile),
        _warnings(profile.get("warnings") or []),
        _target(profile.get("target")),
        _correlations(profile.get("correlations") or {}),
        "<h2>Columns</h2>",
        *(_column(col) for col in profile.get("columns") or []),
        "</body></html>",
    ]
    return "\n".join(parts).encode("utf-8")


def _overview(p: dict[str, Any]) -> str:
    kinds: dict[str, int] = {}
    for col in p.get("columns") or []:
        kinds[col["kind"]] = kinds.get(col["kind"], 0) + 1
    rows = [
        ["<td>rows</td>", f'<td class="num">{_n(p.get("n_rows"))}</td>'],
        ["<td>columns</td>", f'<td class="num">{_n(p.get("n_columns"))}</td>'],
        *(
            [f"<td>{_e(k)} columns</td>", f'<td class="num">{_n(v)}</td>']
            for k, v in sorted(kinds.items())
        ),
    ]
    note = ""
    if p.get("sampled"):
        note = (
            f'<p class="note">Statistics computed on a random sample of {_n(p.get("sample_rows"))}'
            f" of {_n(p.get('n_rows'))} rows.</p>"
        )
    return "<h2>Overview</h2>" + _table(["", ""], rows) + note


def _warnings(warnings: list[dict[str, Any]]) -> str:
    if not warnings:
        return "<h2>Warnings</h2><p>None.</p>"
    items = "".join(
        f'<li class="warn"><b>{_e(w.get("column"))}</b>: {_e(w.get("code"))} - '
        f"{_e(w.get('message'))}</li>"
        for w in warnings
    )
    return f"<h2>Warnings</h2><ul>{items}</ul>"


def _target(t: dict[str, Any] | None) -> str:
    if not t:
        return ""
    out = [f"<h2>Target: {_e(t.get('column'))} ({_e(t.get('task'))})</h2>"]
    dist = t.get("distribution") or []
    if dist:
        total = sum(d["count"] for d in dist) or 1
        rows = [
            [
                f"<td>{_e(d['value'])}</td>",
                f'<td class="num">{_n(d["count"])}</td>',
                f"<td>{_bar(d['count'], total)}</td>",
            ]
            for d in dist
        ]
        out.append("<h3>Class distribution</h3>" + _table(["class", "count", ""], rows))
    rel = t.get("relations") or []
    if rel:
        rows = [
            [
                f"<td>{_e(r['column'])}</td>",
                f"<td>{_e(r.get('measure'))}</td>",
                f'<td class="num">{_n(r.get("strength"))}</td>',
                f"<td>{_bar(abs(r.get('strength') or 0.0), 1.0)}</td>",
            ]
            for r in rel
        ]
        out.append(
            "<h3>Relation of each column to the target</h3>"
            + _table(["column", "measure", "strength", ""], rows)
        )
    return "".join(out)


def _correlations(c: dict[str, Any]) -> str:
    names, matrix = c.get("columns") or [], c.get("matrix") or []
    if len(names) < 2:
        return ""
    rows = []
    for name, line in zip(names, matrix, strict=False):
        cells = [f"<th>{_e(name)}</th>"]
        for v in line:
            shade = 0 if v is None else round(abs(v) * 60)
            cells.append(f'<td style="background:hsl(215,60%,{100 - shade}%)">{_n(v)}</td>')
        rows.append(cells)
    note = ""
    if c.get("omitted"):
        note = f'<p class="note">{_n(c["omitted"])} more numeric columns not shown.</p>'
    return "<h2>Correlations (Pearson)</h2>" + _table(["", *names], rows, "corr") + note


def _column(col: dict[str, Any]) -> str:
    out = [
        '<div class="card">',
        f'<h3>{_e(col["name"])}<span class="kind">{_e(col["kind"])}</span></h3>',
        _table(
            ["present", "missing", "missing %", "distinct"],
            [
                [
                    f'<td class="num">{_n(col.get("count"))}</td>',
                    f'<td class="num">{_n(col.get("missing"))}</td>',
                    f'<td class="num">{_e(_pct(col.get("missing_ratio") or 0.0, 1.0))}</td>',
                    f'<td class="num">{_n(col.get("distinct"))}</td>',
                ]
            ],
        ),
    ]
    num = col.get("numeric")
    if num:
        keys = ["mean", "std", "min", "q25", "median", "q75", "max"]
        out.append(_table(keys, [[f'<td class="num">{_n(num.get(k))}</td>' for k in keys]]))
        hist = num.get("histogram")
        if hist and hist.get("counts"):
            top = max(hist["counts"]) or 1
            bars = "".join(
                f'<div style="height:{_pct(c, top)}" title="{_n(c)}"></div>' for c in hist["counts"]
            )
            edges = hist.get("edges") or [None]
            out.append(
                f'<div class="hist">{bars}</div>'
                f'<p class="note">{_n(edges[0])} … {_n(edges[-1])}</p>'
            )
    dt = col.get("datetime")
    if dt:
        out.append(f"<p>From {_e(_fmt(dt.get('min')))} to {_e(_fmt(dt.get('max')))}</p>")
    text = col.get("text")
    if text:
        out.append(
            f"<p>Mean length {_n(text.get('mean_length'))}, "
            f"longest {_n(text.get('max_length'))}</p>"
        )
    top_values = col.get("top_values") or []
    if top_values:
        total = col.get("count") or 1
        rows = [
            [
                f"<td>{_e(v['value'])}</td>",
                f'<td class="num">{_n(v["count"])}</td>',
                f"<td>{_bar(v['count'], total)}</td>",
            ]
            for v in top_values
        ]
        out.append(_table(["value", "count", ""], rows))
    out.append("</div>")
    return "".join(out)
