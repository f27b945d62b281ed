"""Build the analyst report: one self-contained HTML page per as_of.

`build_report(con, settings, as_of)` reads the published tables (`scores`, `segments`,
`next_best_actions`, `suppressions`) for as_of, the staging/raw history and the load audit,
and writes `<settings.reports_dir>/<as_of>/report.html`. The page holds aggregates only:
no per-account rows and no personal columns; plots are inline base64 PNGs; CSS is inline.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import duckdb

from reports import sections

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "report.html.j2"
NA = "n/a"


def _as_date(as_of: dt.date | str) -> dt.date:
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    if isinstance(as_of, dt.date):
        return as_of
    return dt.date.fromisoformat(str(as_of))


def _number(x) -> float | None:
    if x is None:
        return None
    if isinstance(x, Decimal):
        return float(x)
    if isinstance(x, (int, float)):
        return None if x != x else float(x)  # NaN counts as missing
    return None


def fmt_pct(x, digits: int = 1) -> str:
    """0.4 -> '40.0%'; None / NaN -> 'n/a'."""
    v = _number(x)
    return NA if v is None else f"{v * 100:.{digits}f}%"


def fmt_int(x) -> str:
    """1234 -> '1,234'; None -> 'n/a'."""
    v = _number(x)
    return NA if v is None else f"{round(v):,}"


def fmt_dec(x, digits: int = 2) -> str:
    """A decimal with thousands separators; None -> 'n/a'."""
    v = _number(x)
    return NA if v is None else f"{v:,.{digits}f}"


def fmt_kpi(x, kind: str) -> str:
    """Format a headline KPI value by kind ('pct' or 'dec2')."""
    return fmt_pct(x) if kind == "pct" else fmt_dec(x, 2)


def render_html(context: dict) -> str:
    """Render the Jinja2 template (autoescape on) with the report context."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=fmt_pct, count=fmt_int, dec=fmt_dec, kpi=fmt_kpi)
    return env.get_template(TEMPLATE_NAME).render(**context)


def report_context(con: duckdb.DuckDBPyConnection, as_of: dt.date, generated_at: dt.datetime) -> dict:
    """Everything the template shows, as aggregate rows per section."""
    header = sections.header_section(con, as_of)
    return {
        "as_of": as_of,
        "generated_at": generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        "header": header,
        "kpis": sections.kpi_section(con, as_of, header["eligible"]),
        "decisions": sections.decisions_section(con, as_of),
        "model": sections.model_health_section(con, as_of),
        "dq": sections.data_quality_section(con),
    }


def report_path(settings, as_of: dt.date | str) -> Path:
    """Where the report for as_of lives: `<reports_dir>/<as_of>/report.html`."""
    return Path(settings.reports_dir) / _as_date(as_of).isoformat() / "report.html"


def build_report(
    con: duckdb.DuckDBPyConnection,
    settings,
    as_of: dt.date | str,
    generated_at: dt.datetime | None = None,
) -> Path:
    """Write the analyst report for as_of and return its path.

    Input: an open warehouse connection (read access is enough), settings (for
    `reports_dir`) and the scoring date. Output: one self-contained HTML file
    `<reports_dir>/<as_of>/report.html`, replaced atomically; its tables are aggregates
    (per channel, action, rule, segment, arm, currency, load table), never per account.
    """
    as_of = _as_date(as_of)
    generated_at = generated_at or dt.datetime.now(dt.timezone.utc)
    html = render_html(report_context(con, as_of, generated_at))
    out = report_path(settings, as_of)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    return out
