"""The input contract (DESIGN.md §3): the seven tables a delivery holds, defined once.

The simulator writes these columns, ingestion checks them, staging SQL reads them.
Types are DuckDB types. `required=False` columns may be absent from a file or null.
"""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("sms", "email", "whatsapp", "voice", "agent_call", "letter")
PROMISE_CHANNELS = CHANNELS + ("self_service",)
ENTRY_TYPES = ("charge", "installment_due", "payment", "fee", "interest", "adjustment", "reversal", "write_off")
HOLD_KINDS = ("dispute", "cease", "bankruptcy", "deceased", "breathing_space", "attorney", "vulnerability", "hardship_plan")
CONSENT_STATUSES = ("granted", "revoked", "opt_out")
DIRECTIONS = ("outbound", "inbound")
CONTACT_OUTCOMES = (
    "delivered", "failed", "bounced", "no_answer", "rpc", "wrong_party", "promise",
    "opened", "clicked", "replied", "opt_out", "complaint",
)
PRODUCTS = ("credit_card", "personal_loan", "telco", "utility", "bnpl")
JURISDICTIONS = ("US", "CO", "MX", "UK", "ES")
CURRENCIES = ("USD", "COP", "MXN", "GBP", "EUR")

# When a promise is kept (docs/TABLES.md): payments effective from its creation date up to
# due_date + PROMISE_GRACE_DAYS reach PROMISE_KEPT_SHARE of the promised amount. The simulator,
# the labels, the features, the decisions and the report all read these two numbers.
PROMISE_GRACE_DAYS = 3
PROMISE_KEPT_SHARE = 0.95

# Columns holding personal data: they stay in raw_/stg_ tables for the dispatcher and never
# reach features, MLflow, logs or reports.
PERSONAL_COLUMNS = frozenset({"phone", "email", "contact_point", "full_name", "name", "address", "notes"})


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = True
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Table:
    name: str
    key: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("customers", "customer_id", (
            Column("customer_id", "VARCHAR"),
            Column("country", "VARCHAR", enum=JURISDICTIONS),
            Column("region", "VARCHAR"),
            Column("timezone", "VARCHAR"),
            Column("language", "VARCHAR"),
            Column("birth_year", "INTEGER", required=False),
            Column("created_at", "TIMESTAMPTZ"),
            Column("phone", "VARCHAR", required=False),
            Column("email", "VARCHAR", required=False),
            Column("whatsapp_opt_in", "BOOLEAN"),
        )),
        Table("accounts", "account_id", (
            Column("account_id", "VARCHAR"),
            Column("customer_id", "VARCHAR"),
            Column("product", "VARCHAR", enum=PRODUCTS),
            Column("currency", "VARCHAR", enum=CURRENCIES),
            Column("opened_at", "TIMESTAMPTZ"),
            Column("placed_at", "TIMESTAMPTZ"),
            Column("principal", "DECIMAL(18,2)"),
            Column("jurisdiction", "VARCHAR", enum=JURISDICTIONS),
        )),
        Table("ledger", "entry_id", (
            Column("entry_id", "VARCHAR"),
            Column("account_id", "VARCHAR"),
            Column("posted_at", "TIMESTAMPTZ"),
            Column("effective_date", "DATE"),
            Column("entry_type", "VARCHAR", enum=ENTRY_TYPES),
            Column("amount", "DECIMAL(18,2)"),
            Column("currency", "VARCHAR", enum=CURRENCIES),
            Column("reverses_entry_id", "VARCHAR", required=False),
            Column("payment_method", "VARCHAR", required=False),
        )),
        Table("promises", "promise_id", (
            Column("promise_id", "VARCHAR"),
            Column("account_id", "VARCHAR"),
            Column("created_at", "TIMESTAMPTZ"),
            Column("promised_amount", "DECIMAL(18,2)"),
            Column("currency", "VARCHAR", enum=CURRENCIES),
            Column("due_date", "DATE"),
            Column("channel", "VARCHAR", enum=PROMISE_CHANNELS),
            Column("agent_id", "VARCHAR", required=False),
        )),
        Table("contacts", "contact_id", (
            Column("contact_id", "VARCHAR"),
            Column("account_id", "VARCHAR"),
            Column("customer_id", "VARCHAR"),
            Column("channel", "VARCHAR", enum=CHANNELS),
            Column("direction", "VARCHAR", enum=DIRECTIONS),
            Column("started_at", "TIMESTAMPTZ"),
            Column("template_id", "VARCHAR", required=False),
            Column("outcome", "VARCHAR", enum=CONTACT_OUTCOMES),
            Column("cost", "DECIMAL(18,4)", required=False),
            Column("action_key", "VARCHAR", required=False),
            Column("propensity", "DOUBLE", required=False),
        )),
        Table("holds", "hold_id", (
            Column("hold_id", "VARCHAR"),
            Column("customer_id", "VARCHAR", required=False),
            Column("account_id", "VARCHAR", required=False),
            Column("kind", "VARCHAR", enum=HOLD_KINDS),
            Column("starts_at", "TIMESTAMPTZ"),
            Column("ends_at", "TIMESTAMPTZ", required=False),
        )),
        Table("consents", "consent_id", (
            Column("consent_id", "VARCHAR"),
            Column("customer_id", "VARCHAR"),
            Column("channel", "VARCHAR", enum=CHANNELS),
            Column("contact_point", "VARCHAR"),
            Column("status", "VARCHAR", enum=CONSENT_STATUSES),
            Column("effective_at", "TIMESTAMPTZ"),
            Column("source", "VARCHAR"),
        )),
    )
}

# Load order: parents before children so reference rules can check keys.
LOAD_ORDER = ("customers", "accounts", "ledger", "promises", "contacts", "holds", "consents")


AUDIT_COLUMNS = (
    Column("_load_id", "VARCHAR"),
    Column("_arrived_at", "TIMESTAMPTZ"),
    Column("_source_file", "VARCHAR"),
    Column("_source_row", "BIGINT"),
)


def raw_table_ddl(name: str) -> str:
    """`create table if not exists raw_<name> (...)`: the contract columns, typed, plus audit columns.

    No primary-key index: ingestion keeps keys unique itself (exact duplicates are counted, conflicts
    quarantined), and maintaining the index cost 12-15% of a load's CPU.
    """
    table = TABLES[name]
    cols = ",\n    ".join(f"{c.name} {c.type}" for c in table.columns + AUDIT_COLUMNS)
    return f"create table if not exists raw_{name} (\n    {cols}\n)"


def create_raw_tables(con) -> None:
    """Create every empty `raw_<name>` table (ingestion fills them; tests use them for fixtures)."""
    for name in LOAD_ORDER:
        con.execute(raw_table_ddl(name))
