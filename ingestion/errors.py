"""Errors raised by ingestion."""

from __future__ import annotations


class ContractError(ValueError):
    """A delivery breaks the schema contract (missing column, empty or unreadable file).

    The message names the file, the column and, where it applies, the row. Nothing of the
    delivery is loaded when this is raised.
    """
