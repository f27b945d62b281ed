"""Ingestion: a delivery folder of CSV/Parquet files into typed `raw_<name>` tables.

- Schema contract (`files`, `manifest`): a file that breaks it, or does not match what the
  delivery's optional `delivery.yaml` declares, is one `ContractError` naming file, line and
  column; nothing is loaded.
- Row rules (`rules`, compiled to SQL in `compile`): bad rows go to `quarantine` with their rule
  id; rows whose parent has not arrived wait in `pending_<name>` and are judged again on every
  load, so the final tables do not depend on the order deliveries are loaded in.
- Batch rules (`batch`): whole-delivery checks that stop the load (`BatchRuleError`).
- Same key, different payload: every version is quarantined and the key is listed in
  `key_conflicts`; no version wins (last-write-wins would depend on load order).
- Money: amounts are DECIMAL with a known currency on every row; ingestion never sums across
  currencies (no FX table is needed here; a cross-currency sum downstream needs a dated one).
- Person keys (`persons`): `customer_persons` links customer ids sharing a phone or email.
Great Expectations is imported only when `load_delivery(..., validate=True)` runs it.
"""

from ingestion.batch import BatchThresholds
from ingestion.errors import BatchRuleError, ContractError
from ingestion.load import load_delivery
from ingestion.summary import LoadSummary, TableLoad

__all__ = ["BatchRuleError", "BatchThresholds", "ContractError", "LoadSummary", "TableLoad", "load_delivery"]
