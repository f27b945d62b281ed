"""`customer_persons`: customer ids that share a contact point are one person.

Counters and opt-outs apply per person (DOMAIN.md §5: "treat every phone and email that
resolves to one person as that person"). The table holds ids only, never the contact points.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from recobro.warehouse import read_sql

SQL_DIR = Path(__file__).parent / "sql"


def customer_persons(con: duckdb.DuckDBPyConnection, max_customers_per_point: int = 5) -> str:
    """Rebuild `customer_persons` from `raw_customers`; returns the table name.

    Grain: one row per customer: `customer_id, person_key, n_customers` (size of the person's
    component). `person_key` is the smallest customer_id of the connected component over shared
    normalised phones and emails, so it does not depend on load order.
    """
    con.execute(read_sql(SQL_DIR / "person_edges.sql"), {"max_customers": max_customers_per_point})
    # only customers sharing a point need labels (a few percent of them); the rest are their own person
    con.execute("create or replace temp table ingest_person_label as "
                "select distinct a as customer_id, a as person_key from ingest_person_edges")
    label_step = read_sql(SQL_DIR / "person_label_step.sql")
    while True:  # each pass lowers labels along edges; stops at the component minimum
        con.execute(label_step)
        changed = con.execute("select count(*) from ingest_person_next x join ingest_person_label l "
                              "using (customer_id) where x.person_key <> l.person_key").fetchall()[0][0]
        con.execute("create or replace temp table ingest_person_label as select * from ingest_person_next")
        if changed == 0:
            break
    con.execute(read_sql(SQL_DIR / "customer_persons.sql"))
    for t in ("edges", "label", "next"):
        con.execute(f"drop table if exists ingest_person_{t}")
    return "customer_persons"
