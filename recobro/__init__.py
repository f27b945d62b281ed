"""recobro: collections intelligence from a creditor's own ledger and contact history."""

__version__ = "0.1.0"
