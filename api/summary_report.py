"""The summary of a period as one self-contained HTML page (charts as inline SVG), and as CSV.

A town leader reads it in a browser or prints it; it loads nothing (no
script, no stylesheet, no font), so it works on any intranet and as a file
written by ``gridwatch summary --out report.html``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from html import escape
from typing import Any

from grids.analytics.summaries import summary_rows

KIND_TITLE = {
    "zh": {"day": "日小结", "week": "周汇报", "month": "月汇总"},
    "en": {"day": "Daily summary", "week": "Weekly report", "month": "Monthly summary"},
}
LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "received": "收到报告",
        "routed": "分派到网格",
        "outside_grids": "网格外（市调度）",
        "possible_duplicates": "疑似重复",
        "acknowledged": "已受理",
        "verified_valid": "核实有效",
        "rejected": "不予立案",
        "duplicates": "重复报告",
        "resolved": "已处置",
        "closed": "已办结",
        "still_open": "仍在办理",
        "deadlines_missed": "超时",
        "escalations": "升级",
        "rewards": "奖励发放",
        "yuan": "元",
        "points": "积分",
        "awards": "笔",
        "previous": "上期",
        "series": "每日收到与办结",
        "series_day": "每小时收到与办结",
        "top_categories": "主要类型",
        "top_cells": "高发单元 (H3 res 9)",
        "times": "办理时效（分钟）",
        "step": "环节",
        "n": "件数",
        "median": "中位数",
        "p90": "90 分位",
        "acknowledge": "受理",
        "verify": "核实",
        "close": "办结",
        "reasons": "不予立案原因",
        "invalid": "无效",
        "duplicate": "重复",
        "not_ours": "非本单位",
        "missed": "超时环节",
        "by_unit": "下级单位",
        "unit": "单位",
        "cell": "单元",
        "grid": "网格",
        "count": "数量",
        "funnel": "办理流程",
        "none": "无",
    },
    "en": {
        "received": "Received",
        "routed": "Routed to a grid",
        "outside_grids": "Outside every grid",
        "possible_duplicates": "Possible duplicates",
        "acknowledged": "Acknowledged",
        "verified_valid": "Verified valid",
        "rejected": "Rejected",
        "duplicates": "Duplicates",
        "resolved": "Resolved",
        "closed": "Closed",
        "still_open": "Still open",
        "deadlines_missed": "Deadlines missed",
        "escalations": "Escalations",
        "rewards": "Rewards paid",
        "yuan": "yuan",
        "points": "points",
        "awards": "awards",
        "previous": "previous",
        "series": "Received and closed per day",
        "series_day": "Received and closed per hour",
        "top_categories": "Top categories",
        "top_cells": "Top cells (H3 res 9)",
        "times": "Time taken (minutes)",
        "step": "Step",
        "n": "Cases",
        "median": "Median",
        "p90": "90th percentile",
        "acknowledge": "Acknowledge",
        "verify": "Verify",
        "close": "Close",
        "reasons": "Rejected, by reason",
        "invalid": "invalid",
        "duplicate": "duplicate",
        "not_ours": "not ours",
        "missed": "Deadlines missed, by step",
        "by_unit": "Units below",
        "unit": "Unit",
        "cell": "Cell",
        "grid": "Grid",
        "count": "Count",
        "funnel": "The loop",
        "none": "none",
    },
}
RECEIVED, CLOSED = "#3182bd", "#31a354"
CARDS = (
    "received",
    "verified_valid",
    "rejected",
    "closed",
    "still_open",
    "deadlines_missed",
    "escalations",
)


def _bars(series: Sequence[dict[str, Any]], width: int = 760, height: int = 220) -> str:
    """Grouped bars of ``received`` and ``closed`` per bin, with a value axis."""
    if not series:
        return ""
    top = max(1, *(max(r["received"], r["closed"]) for r in series))
    left, bottom, right = 36, 36, 8
    plot_w, plot_h = width - left - right, height - bottom - 10
    step = plot_w / len(series)
    bar = max(1.0, step * 0.38)
    parts = [f"<svg viewBox='0 0 {width} {height}' width='100%' role='img'>"]
    for tick in (0, top / 2, top):
        y = 10 + plot_h - plot_h * tick / top
        parts.append(
            f"<line x1='{left}' x2='{width - right}' y1='{y:.1f}' y2='{y:.1f}' stroke='#ddd'/>"
            f"<text x='{left - 4}' y='{y + 4:.1f}' font-size='10' text-anchor='end'>"
            f"{tick:.0f}</text>"
        )
    label_every = max(1, len(series) // 12)
    for i, row in enumerate(series):
        x = left + i * step + step * 0.1
        for j, (key, colour) in enumerate((("received", RECEIVED), ("closed", CLOSED))):
            h = plot_h * row[key] / top
            parts.append(
                f"<rect x='{x + j * bar:.1f}' y='{10 + plot_h - h:.1f}' width='{bar:.1f}' "
                f"height='{h:.1f}' fill='{colour}'><title>{escape(str(row['bin']))} "
                f"{key}: {row[key]}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f"<text x='{x + bar:.1f}' y='{height - 20}' font-size='10' text-anchor='middle'>"
                f"{escape(str(row['bin'])[-5:])}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _hbars(items: Sequence[tuple[str, int]], colour: str = RECEIVED, width: int = 520) -> str:
    """Horizontal bars with their labels and values."""
    if not items:
        return ""
    top = max(1, *(v for _, v in items))
    row_h, label_w = 22, 170
    height = row_h * len(items) + 4
    parts = [f"<svg viewBox='0 0 {width} {height}' width='100%' role='img'>"]
    for i, (label, value) in enumerate(items):
        y = i * row_h + 2
        w = (width - label_w - 50) * value / top
        parts.append(
            f"<text x='{label_w - 6}' y='{y + 15}' font-size='12' text-anchor='end'>"
            f"{escape(label)}</text><rect x='{label_w}' y='{y + 3}' width='{w:.1f}' "
            f"height='{row_h - 6}' fill='{colour}'/><text x='{label_w + w + 4:.1f}' "
            f"y='{y + 15}' font-size='12'>{value}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('—' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _card(label: str, change: dict[str, Any], previous_label: str) -> str:
    delta = change["delta"]
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
    pct = f" ({change['pct']:+.1f}%)" if change["pct"] is not None else ""
    return (
        f"<div class='card'><div class='label'>{escape(label)}</div>"
        f"<div class='value'>{change['value']}</div><div class='change'>{arrow} {delta:+d}{pct}"
        f" · {escape(previous_label)} {change['previous']}</div></div>"
    )


def render_summary_html(summary: dict[str, Any], lang: str = "zh") -> str:
    """The report page of a summary from :func:`grids.analytics.summaries.summarise`."""
    text = LABELS["en" if lang == "en" else "zh"]
    period = summary["period"]
    unit = summary["unit"]
    unit_name = unit.get("name_en") if lang == "en" and unit.get("name_en") else unit["name"]
    title = f"{unit_name} {KIND_TITLE['en' if lang == 'en' else 'zh'][period['kind']]}"
    span = (
        period["start"]
        if period["start"] == period["end"]
        else (f"{period['start']} – {period['end']}")
    )
    rewards = summary["rewards"]
    cards = "".join(_card(text[key], summary["change"][key], text["previous"]) for key in CARDS)
    cards += (
        f"<div class='card'><div class='label'>{escape(text['rewards'])}</div>"
        f"<div class='value'>{escape(rewards['yuan'])} {escape(text['yuan'])}</div>"
        f"<div class='change'>{rewards['points']} {escape(text['points'])} · "
        f"{rewards['awards']} {escape(text['awards'])}</div></div>"
    )
    counts = summary["counts"]
    funnel = [
        (text[key], counts[key])
        for key in ("received", "routed", "acknowledged", "verified_valid", "resolved", "closed")
    ]
    times = summary["times_minutes"]
    sections = [
        f"<h2>{escape(text['series_day' if period['kind'] == 'day' else 'series'])}</h2>"
        f"<p class='key'><span style='background:{RECEIVED}'></span>{escape(text['received'])}"
        f" <span style='background:{CLOSED}'></span>{escape(text['closed'])}</p>"
        + _bars(summary["series"]),
        f"<h2>{escape(text['funnel'])}</h2>" + _hbars(funnel),
        f"<h2>{escape(text['times'])}</h2>"
        + _table(
            [text["step"], text["n"], text["median"], text["p90"]],
            [
                [text[step], times[step]["n"], times[step]["median"], times[step]["p90"]]
                for step in ("acknowledge", "verify", "close")
            ],
        ),
        f"<h2>{escape(text['reasons'])}</h2>"
        + _table(
            [text["rejected"], text["count"]],
            [[text.get(r, r), n] for r, n in summary["rejected_by_reason"].items()],
        ),
        f"<h2>{escape(text['missed'])}</h2>"
        + _table(
            [text["step"], text["count"]],
            [[text[s], n] for s, n in summary["deadlines_missed"].items()],
        ),
        f"<h2>{escape(text['top_categories'])}</h2>"
        + (
            _hbars([(c["name"], c["count"]) for c in summary["top_categories"]], "#e6550d")
            or f"<p>{escape(text['none'])}</p>"
        ),
        f"<h2>{escape(text['top_cells'])}</h2>"
        + _table(
            [text["cell"], text["grid"], text["count"]],
            [[c["cell"], c["grid"], c["count"]] for c in summary["top_cells"]],
        ),
    ]
    if summary["by_unit"]:
        sections.append(
            f"<h2>{escape(text['by_unit'])}</h2>"
            + _table(
                [text["unit"], text["received"], text["closed"], text["still_open"]],
                [
                    [f"{u['name']} ({u['code']})", u["received"], u["closed"], u["still_open"]]
                    for u in summary["by_unit"]
                ],
            )
        )
    return (
        "<!DOCTYPE html><html lang='"
        + ("en" if lang == "en" else "zh")
        + "'><head><meta charset='utf-8'><meta name='viewport' "
        "content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)} {escape(period['label'])}</title><style>{_CSS}</style></head>"
        f"<body><h1>{escape(title)} <small>{escape(period['label'])} · {escape(span)}</small>"
        f"</h1><div class='cards'>{cards}</div>{''.join(sections)}"
        f"<p class='foot'>{escape(period['timezone'])} · {escape(text['previous'])}: "
        f"{escape(summary['previous']['period']['label'])}</p></body></html>"
    )


_CSS = (
    "body{font:14px/1.5 system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;"
    "margin:24px auto;max-width:860px;color:#222;padding:0 12px}"
    "h1{font-size:22px}h1 small{font-size:14px;color:#666;font-weight:400}"
    "h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ddd;border-radius:6px;"
    "padding:8px 12px;min-width:150px}.card .label{color:#555;font-size:12px}"
    ".card .value{font-size:24px;font-weight:600}.card .change{color:#666;font-size:12px}"
    "table{border-collapse:collapse;margin-top:6px}td,th{border:1px solid #ddd;padding:3px 10px;"
    "text-align:left}th{background:#f5f5f5}.key span{display:inline-block;width:12px;"
    "height:12px;margin:0 4px 0 12px;vertical-align:-1px}.foot{color:#777;margin-top:30px}"
    "@media print{.cards{gap:4px}}"
)


def summary_csv(summary: dict[str, Any]) -> str:
    """The summary as CSV: section, key, value, previous (one row per number)."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=["section", "key", "value", "previous"], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(summary_rows(summary))
    return out.getvalue()
