"""Chart payloads: plain data (labels, series) handed to static/js/insights.js through json_script.

No colours or options here beyond what the data means (which axis, bar or line); the script styles them.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


def _num(value):
    return None if value is None else float(value)


def sentiment_trend(trend: list[dict]) -> dict:
    return {
        "type": "bar",
        "labels": [row["week"].isoformat() for row in trend],
        "datasets": [
            {"label": _("NPS answers"), "data": [row["nps_responses"] for row in trend], "axis": "count"},
            {"label": _("NPS"), "data": [_num(row["nps"]) for row in trend], "type": "line", "axis": "score"},
            {"label": _("CSAT %"), "data": [_num(row["csat"]) for row in trend], "type": "line", "axis": "score"},
        ],
        "scoreRange": [-100, 100],
    }


def by_moment(moments: list[dict]) -> dict:
    return {
        "type": "bar",
        "horizontal": True,
        "labels": [str(m["label"]) for m in moments],
        "datasets": [
            {"label": _("NPS"), "data": [_num(m["nps"].nps) for m in moments]},
            {"label": _("CSAT %"), "data": [_num(m["csat"].satisfied_pct) for m in moments]},
        ],
        "scoreRange": [-100, 100],
    }


def themes(themes: dict) -> dict:
    rows = themes["themes"]
    return {
        "type": "bar",
        "horizontal": True,
        "stacked": True,
        "labels": [row["theme"].replace("_", " ") for row in rows],
        "datasets": [
            {"label": _("From detractors"), "data": [row["detractor_mentions"] for row in rows], "tone": "bad"},
            {"label": _("Others"), "data": [row["mentions"] - row["detractor_mentions"] for row in rows]},
        ],
    }


def theme_trend(themes: dict) -> dict:
    rows = themes["themes"][:5]
    return {
        "type": "line",
        "labels": [week.isoformat() for week in themes["weeks"]],
        "datasets": [{"label": row["theme"].replace("_", " "), "data": row["trend"]} for row in rows],
    }


def repeat_trend(monthly: list[dict]) -> dict:
    return {
        "type": "bar",
        "stacked": True,
        "labels": [row["month"].strftime("%b %Y") for row in monthly],
        "datasets": [
            {"label": _("New purchasers"), "data": [row["new"] for row in monthly], "axis": "count"},
            {"label": _("Returning purchasers"), "data": [row["returning"] for row in monthly], "axis": "count"},
            {
                "label": _("Repeat rate %"),
                "data": [_num(row["rate"]) for row in monthly],
                "type": "line",
                "axis": "score",
            },
        ],
        "scoreRange": [0, 100],
    }


def stages(stages: list[dict]) -> dict:
    return {
        "type": "doughnut",
        "labels": [str(s["label"]) for s in stages],
        "datasets": [{"label": _("Customers"), "data": [s["customers"] for s in stages]}],
    }


def funnel(funnel: list[dict]) -> dict:
    rows = [m for m in funnel if m["touchpoints"] or m["revenue"]][:12]
    return {
        "type": "bar",
        "horizontal": True,
        "labels": [str(m["label"]) for m in rows],
        "datasets": [
            {"label": _("Revenue credited"), "data": [_num(m["revenue"]) for m in rows], "axis": "money"},
            {"label": _("% of purchases preceded"), "data": [_num(m["preceded_pct"]) for m in rows], "axis": "score"},
        ],
        "scoreRange": [0, 100],
    }


def channels(channels: list[dict]) -> dict:
    return {
        "type": "doughnut",
        "labels": [str(c["label"]) for c in channels],
        "datasets": [{"label": _("Revenue credited"), "data": [_num(c["revenue"]) for c in channels]}],
    }


def personas(summary: dict) -> dict:
    rows = [p for p in summary["personas"] if p["customers"] or any(p["trend"])]
    return {
        "type": "line",
        "labels": [d.isoformat() for d in summary["trend_days"]],
        "datasets": [{"label": str(p["persona"].name), "data": p["trend"]} for p in rows],
    }
