"""Ingestion: a delivery folder of CSV/Parquet files into typed `raw_<name>` tables.

Bad rows go to `quarantine` with the id of the rule they broke; nothing is dropped silently.
Great Expectations is imported only when `load_delivery(..., validate=True)` runs it.
"""

from ingestion.errors import ContractError
from ingestion.load import load_delivery
from ingestion.summary import LoadSummary, TableLoad

__all__ = ["ContractError", "LoadSummary", "TableLoad", "load_delivery"]
