"""The analyst report: `build_report(con, settings, as_of) -> Path` writes one self-contained HTML page."""

from reports.build import build_report, report_path

__all__ = ["build_report", "report_path"]
