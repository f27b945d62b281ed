"""Row rules, defined once: compiled to DuckDB SQL (quarantine) and to a GE suite (reporting).

A rule's `predicate` is a DuckDB boolean expression over the typed staging table, aliased `t`,
that is TRUE for a *failing* row. Typed columns carry their contract name; the trimmed source
text of column `c` is `t.c__raw`. Parent tables are the `raw_<name>` tables: ingestion inserts
a delivery's accepted parents before it checks the children, so a parent may come from this
delivery or from an earlier load.

`expectation` is the Great Expectations counterpart (class name, kwargs, optional row
condition `(column, op, value)`), or None where GE cannot express the rule on one table
(cross-table references, parse and time-zone checks that the typed table already settled).

Batch rules (whole-delivery checks that stop a load) live in `ingestion.batch`.
"""

from __future__ import annotations

from dataclasses import dataclass

from recobro.contract import CURRENCIES, TABLES, Column

# Personal columns whose value is a phone number or an email: normalised before any rule runs.
PHONE_REGEX = r"^\+[1-9][0-9]{6,14}$"
EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# A time of day followed by Z, +hh, +hhmm, +hh:mm or UTC: a timestamp that says where it is.
OFFSET_REGEX = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*([zZ]|[+-][0-9]{2}(:?[0-9]{2})?|UTC)$"
PHONE_CHANNELS = ("sms", "whatsapp", "voice", "agent_call")


@dataclass(frozen=True)
class Rule:
    rule_id: str
    table: str
    column: str
    description: str
    predicate: str | None  # None: evaluated set-wise by the duplicate/conflict step
    expectation: tuple | None = None


# Rules that fail only because a parent row has not arrived yet: such a row waits in
# `pending_<table>` and is judged again on every later load (order independence).
PARENT_RULES = ("known_customer", "known_account")


def _exists(parent: str, key: str, column: str | None = None) -> str:
    # A parent whose key is in conflict is known (just not trusted): its children do not wait for it.
    col = f"t.{column or key}"
    return (f"(exists (select 1 from raw_{parent} p where p.{key} = {col}) or "
            f"exists (select 1 from key_conflicts k where k.table_name = '{parent}' and k.key = {col}))")


# The account exists and its (account, currency) pair does not: raw_accounts holds one row per
# account with a required currency. Uncorrelated on purpose: the correlated `exists` with an
# inequality made DuckDB copy every judged row through a delim join (~0.7 s per million ledger rows).
_ACCOUNT_CURRENCY = ("t.currency is not null and t.account_id in (select account_id from raw_accounts) and "
                     "(t.account_id, t.currency) not in (select account_id, currency from raw_accounts)")


def _column_rules(table: str, col: Column) -> list[Rule]:
    """Rules that follow from the contract alone: required, parseable, UTC offset, enum."""
    c = col.name
    rules: list[Rule] = []
    if col.required:
        rules.append(Rule("not_null", table, c, f"{c} is required",
                          f"t.{c}__raw is null", ("ExpectColumnValuesToNotBeNull", {"column": c})))
    if col.type != "VARCHAR":
        rules.append(Rule("parseable_type", table, c, f"{c} must parse as {col.type}",
                          f"t.{c}__raw is not null and t.{c} is null"))
    if col.type == "TIMESTAMPTZ":
        rules.append(Rule("utc_offset", table, c, f"{c} must carry a UTC offset (naive timestamps are ambiguous)",
                          f"t.{c} is not null and not regexp_matches(t.{c}__raw, '{OFFSET_REGEX}')"))
    if col.enum:
        is_currency = col.enum == CURRENCIES
        rule_id = "known_currency" if is_currency else "in_enum"
        values = ", ".join(f"'{v}'" for v in col.enum)
        what = "a known ISO-4217 currency" if is_currency else f"one of {', '.join(col.enum)}"
        rules.append(Rule(rule_id, table, c, f"{c} must be {what}",
                          f"t.{c} is not null and t.{c} not in ({values})",
                          ("ExpectColumnValuesToBeInSet", {"column": c, "value_set": list(col.enum)})))
    return rules


def _business_rules() -> list[Rule]:
    """Rules a domain expert wrote: signs, currencies, references, time order, contact points."""
    positive = "must be positive"
    return [
        Rule("known_timezone", "customers", "timezone", "timezone must be an IANA zone name",
             "t.timezone is not null and t.timezone not in (select name from pg_timezone_names())"),
        Rule("phone_e164", "customers", "phone", "phone must be E.164 after removing spaces and dashes",
             f"t.phone is not null and not regexp_matches(t.phone, '{PHONE_REGEX}')"),
        Rule("email_format", "customers", "email", "email must look like local@domain.tld",
             f"t.email is not null and not regexp_matches(t.email, '{EMAIL_REGEX}')"),
        Rule("known_customer", "accounts", "customer_id", "customer_id must name a loaded customer",
             f"t.customer_id is not null and not {_exists('customers', 'customer_id')}"),
        Rule("amount_sign", "ledger", "amount", "amount must be positive, except adjustments which must be non-zero",
             "t.amount is not null and t.entry_type is not null and "
             "(case when t.entry_type = 'adjustment' then t.amount = 0 else t.amount <= 0 end)",
             ("ExpectColumnValuesToBeBetween", {"column": "amount", "min_value": 0, "strict_min": True},
              ("entry_type", "!=", "adjustment"))),
        Rule("reversal_target", "ledger", "reverses_entry_id", "a reversal must name the entry it reverses",
             "t.entry_type = 'reversal' and t.reverses_entry_id is null"),
        Rule("known_account", "ledger", "account_id", "account_id must name a loaded account",
             f"t.account_id is not null and not {_exists('accounts', 'account_id')}"),
        Rule("account_currency", "ledger", "currency", "currency must equal the account's currency",
             _ACCOUNT_CURRENCY),
        Rule("amount_sign", "promises", "promised_amount", f"promised_amount {positive}",
             "t.promised_amount is not null and t.promised_amount <= 0",
             ("ExpectColumnValuesToBeBetween", {"column": "promised_amount", "min_value": 0, "strict_min": True})),
        Rule("known_account", "promises", "account_id", "account_id must name a loaded account",
             f"t.account_id is not null and not {_exists('accounts', 'account_id')}"),
        Rule("account_currency", "promises", "currency", "currency must equal the account's currency",
             _ACCOUNT_CURRENCY),
        Rule("due_after_created", "promises", "due_date", "due_date must be on or after created_at's date (UTC)",
             "t.due_date < t.created_at::date"),
        Rule("known_account", "contacts", "account_id", "account_id must name a loaded account",
             f"t.account_id is not null and not {_exists('accounts', 'account_id')}"),
        Rule("known_customer", "contacts", "customer_id", "customer_id must name a loaded customer",
             f"t.customer_id is not null and not {_exists('customers', 'customer_id')}"),
        Rule("propensity_range", "contacts", "propensity", "propensity must be between 0 and 1",
             "t.propensity < 0 or t.propensity > 1",
             ("ExpectColumnValuesToBeBetween", {"column": "propensity", "min_value": 0, "max_value": 1})),
        Rule("hold_party", "holds", "customer_id", "a hold must name a customer or an account",
             "t.customer_id__raw is null and t.account_id__raw is null"),
        Rule("known_customer", "holds", "customer_id", "customer_id, when given, must name a loaded customer",
             f"t.customer_id is not null and not {_exists('customers', 'customer_id')}"),
        Rule("known_account", "holds", "account_id", "account_id, when given, must name a loaded account",
             f"t.account_id is not null and not {_exists('accounts', 'account_id')}"),
        Rule("ends_after_start", "holds", "ends_at", "ends_at must be on or after starts_at",
             "t.ends_at < t.starts_at",
             ("ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "ends_at", "column_B": "starts_at", "or_equal": True,
               "ignore_row_if": "either_value_is_missing"})),
        Rule("known_customer", "consents", "customer_id", "customer_id must name a loaded customer",
             f"t.customer_id is not null and not {_exists('customers', 'customer_id')}"),
        Rule("contact_point_format", "consents", "contact_point",
             "contact_point must be an E.164 phone for phone channels, an email for email",
             f"t.contact_point is not null and ("
             f"(t.channel in {PHONE_CHANNELS} and not regexp_matches(t.contact_point, '{PHONE_REGEX}')) or "
             f"(t.channel = 'email' and not regexp_matches(t.contact_point, '{EMAIL_REGEX}')))"),
    ]


def _key_rule(table: str) -> Rule:
    key = TABLES[table].key
    return Rule("key_conflict", table, key,
                f"{key} must not repeat with a different payload (in the file or in the warehouse)",
                None, ("ExpectColumnValuesToBeUnique", {"column": key}))


def rules_for(table: str) -> list[Rule]:
    """Every rule of one input table, contract rules first, then business rules, then the key rule."""
    rules = [r for col in TABLES[table].columns for r in _column_rules(table, col)]
    rules += [r for r in _business_rules() if r.table == table]
    return rules + [_key_rule(table)]


def all_rules() -> list[Rule]:
    """The full rule list, one entry per (table, column, rule_id)."""
    return [r for name in TABLES for r in rules_for(name)]
