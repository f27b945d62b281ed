"""Errors raised by ingestion."""

from __future__ import annotations


class ContractError(ValueError):
    """A delivery breaks the schema contract (missing column, empty or unreadable file).

    The message names the file, the column and, where it applies, the row. Nothing of the
    delivery is loaded when this is raised.
    """


class BatchRuleError(ValueError):
    """A delivery fails a batch rule (schema types, row count, freshness, duplicate rate).

    The message lists every failed rule with what was observed and the limit; `failed` holds
    the `BatchCheck`s. Nothing of the delivery is loaded; the checks are in `batch_rule_results`.
    """

    def __init__(self, message: str, failed: list | None = None) -> None:
        super().__init__(message)
        self.failed = failed or []
