"""Great Expectations suite built from the same rule list, run on a load's accepted rows.

GE takes seconds to import, so it is imported only by `validate_load` (and `start_import`,
which `load_delivery` uses to overlap the import with the load's SQL). Personal columns
never reach GE: they are dropped in SQL before the rows leave DuckDB, so the Data Docs built
from the results (which show a few unexpected values) hold no phone, email or contact point.

Cost (issue 4; `python -m benchmarks ingest --expectations`): every accepted row is checked by
every expectation, so the work that scales with rows is kept to what the suite needs:

- only the columns some expectation reads leave DuckDB, through Arrow (no Python string per
  value; pandas keeps the strings Arrow-backed), instead of `.df()` of every column;
- one context, datasource and run id for the load; each table's checkpoint validates and stores
  its result (one checkpoint cannot hold them all: its `batch_parameters={"dataframe": ...}` go
  to every validation definition), and the Data Docs site is built once at the end (a
  per-checkpoint `UpdateDataDocsAction` rebuilt the index once per table);
- GE's `pandas_data_fingerprint` batch marker (an md5 over a hash of every value of the frame,
  recomputed per table; the slowest single step) is not computed: it validates nothing, and the
  batch is already identified by the run name (= load_id) in the results and Data Docs.
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import duckdb

from recobro.contract import PERSONAL_COLUMNS, TABLES

from ingestion.rules import Rule, rules_for

SITE = "recobro"
_FINGERPRINT_OFF = {"lock": threading.Lock(), "depth": 0, "saved": None}


def start_import() -> threading.Thread:
    """Import Great Expectations on a background thread and return it (join before validating).

    The import takes 5-10 s of mostly Python work; the SQL part of a load runs inside DuckDB,
    which releases the GIL, so the two overlap instead of adding up. A later `import
    great_expectations` waits on Python's import lock until this one is done."""
    import importlib

    thread = threading.Thread(target=importlib.import_module, args=("great_expectations",),
                              name="import-great-expectations", daemon=True)
    thread.start()
    return thread


def ge_rules(table: str) -> list[Rule]:
    """The rules of one table that have a GE counterpart and no personal column."""
    return [r for r in rules_for(table) if r.expectation is not None and r.column not in PERSONAL_COLUMNS]


def _readers(table: str) -> dict[str, set[str]]:
    """{column: the expectations reading it} over `table`'s suite; a row-condition column is read
    by "row_condition"."""
    readers: dict[str, set[str]] = {}
    for rule in ge_rules(table):
        name, kwargs, *condition = rule.expectation
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                readers.setdefault(kwargs[key], set()).add(name)
        for column, *_ in condition:
            readers.setdefault(column, set()).add("row_condition")
    return readers


def ge_columns(table: str) -> list[str]:
    """The columns some expectation of `table` reads (column, column pair or row condition), in
    contract order; never a personal column."""
    used = _readers(table).keys()
    assert not used & PERSONAL_COLUMNS, f"an expectation of {table} reads a personal column"
    return [c.name for c in TABLES[table].columns if c.name in used]


# Expectations that only ask whether values are missing or repeated: a fingerprint answers them
# exactly as the value does (see `accepted_frame`).
_IDENTITY_ONLY = {"ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeUnique"}


def fingerprinted_columns(table: str) -> list[str]:
    """The text columns of `table` that every expectation reading them only checks for missing
    or repeated values (ids, region, time zone, ...): they reach GE as a 63-bit fingerprint."""
    readers = _readers(table)
    return [c.name for c in TABLES[table].columns
            if c.type == "VARCHAR" and c.name in readers and readers[c.name] <= _IDENTITY_ONLY]


def accepted_frame(con: duckdb.DuckDBPyConnection, table: str, load_id: str):
    """A pandas frame of one table's rows accepted in this load, with the columns the suite
    reads (never a personal column); decimals as doubles (GE compares numbers, not Decimal
    objects), dates as datetime64.

    Text columns that are only checked for missing or repeated values (`fingerprinted_columns`)
    arrive as `hash(value) >> 1`, an Arrow-backed int64 that is null exactly where the value is
    null: equal values give equal fingerprints, so a repeated id is always caught; two different
    ids would share one only with probability ~n^2/2^64 (then GE reports a repeat that is not
    there, never the reverse). Moving 8-byte integers instead of strings out of DuckDB and
    hashing them in pandas is what makes the check cheap at scale (issue 4): at 1M accounts
    (16M rows) the strings' export and `duplicated` took 12 of the step's 19 s.
    """
    import pandas as pd
    import pyarrow as pa

    used, hashed = set(ge_columns(table)), set(fingerprinted_columns(table))

    def expression(c) -> str:
        if c.name in hashed:
            # `hash(null)` is not null: the null is kept by hand
            return f"case when {c.name} is null then null else (hash({c.name}) >> 1)::bigint end as {c.name}"
        return f"{c.name}::double as {c.name}" if c.type.startswith("DECIMAL") else c.name

    select = ", ".join(expression(c) for c in TABLES[table].columns if c.name in used)
    # `con.execute`, not `con.sql`: the latter refuses a connection a caller left with an unfinished
    # result. DuckDB warns that Arrow from an execute() result copies the rows once: measured, it
    # costs the same (~0.2 s per million rows), and both are ~5x cheaper than `.df()`.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
        rows = con.execute(f"select {select} from raw_{table} where _load_id = ?", [load_id]).to_arrow_table()
    # a nullable int64 must not become float64 (which would merge nearby fingerprints)
    arrow_ints = {pa.int64(): pd.ArrowDtype(pa.int64())}
    return rows.to_pandas(date_as_object=False, types_mapper=arrow_ints.get)


def suite_for(gx, table: str):
    """The expectation suite of one table: every rule that has a GE counterpart."""
    from great_expectations.expectations.row_conditions import Column as Col

    suite = gx.ExpectationSuite(name=f"recobro_{table}")
    for rule in ge_rules(table):
        name, kwargs, *condition = rule.expectation
        if condition:
            column, op, value = condition[0]
            assert op == "!=", "only != row conditions are used so far"
            kwargs = {**kwargs, "row_condition": Col(column) != value}
        expectation = getattr(gx.expectations, name)(**kwargs, meta={"rule_id": rule.rule_id})
        suite.add_expectation(expectation)
    return suite


def validate_load(con: duckdb.DuckDBPyConnection, load_id: str, tables: list[str],
                  data_docs_dir: Path | None = None) -> int:
    """Run each table's suite on its accepted rows of `load_id`; write `ge_results`
    (one row per table x expectation) and, if `data_docs_dir` is given, build GE Data Docs
    there (one validation page per table and load, run name = load_id). Returns the number of
    failed expectations."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    context = _context(gx, data_docs_dir)
    source = context.data_sources.add_pandas(name="recobro_load")
    run_id = RunIdentifier(run_name=load_id)
    rows = []
    with _no_batch_fingerprint():
        for table in tables:
            batch = source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe(f"{table}_accepted")
            suite = context.suites.add(suite_for(gx, table))
            definition = context.validation_definitions.add(gx.ValidationDefinition(name=table, data=batch, suite=suite))
            checkpoint = context.checkpoints.add(gx.Checkpoint(
                name=f"recobro_{table}", validation_definitions=[definition], result_format="BASIC"))
            result = checkpoint.run(batch_parameters={"dataframe": accepted_frame(con, table, load_id)}, run_id=run_id)
            for validation in result.run_results.values():
                for r in validation.results:
                    config = r.expectation_config
                    column = (config.kwargs.get("column")
                              or f"{config.kwargs.get('column_A')},{config.kwargs.get('column_B')}")
                    rows.append((load_id, table, config.type, column, bool(r.success),
                                 int(r.result.get("unexpected_count") or 0)))
    if data_docs_dir is not None:
        # every validation result of this load is in the (in-memory) store: one build, one index
        context.build_data_docs(site_names=[SITE])
    con.execute("delete from ge_results where load_id = ?", [load_id])
    if rows:
        con.executemany("insert into ge_results values (?, ?, ?, ?, ?, ?)", rows)
    return sum(1 for r in rows if not r[4])


@contextmanager
def _no_batch_fingerprint():
    """Skip GE's `pandas_data_fingerprint` batch marker while validating. GE computes it only for
    frames under `HASH_THRESHOLD` bytes (pandas_execution_engine); it hashes every value, costs
    more than all the expectations of a load together, and checks nothing. Restored when the last
    concurrent caller exits; a GE version without the constant is left alone (it then just costs
    the time again)."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    state = _FINGERPRINT_OFF
    with state["lock"]:
        if state["depth"] == 0:
            state["saved"] = getattr(engine, "HASH_THRESHOLD", None)
            if state["saved"] is not None:
                engine.HASH_THRESHOLD = 0
        state["depth"] += 1
    try:
        yield
    finally:
        with state["lock"]:
            state["depth"] -= 1
            if state["depth"] == 0 and state["saved"] is not None:
                engine.HASH_THRESHOLD = state["saved"]


def _context(gx, data_docs_dir: Path | None):
    """An in-memory GE context; with a Data Docs site writing to `data_docs_dir` when given."""
    from great_expectations.data_context.types.base import (
        DataContextConfig, InMemoryStoreBackendDefaults, ProgressBarsConfig)

    # No usage analytics (no network from a pipeline step) and no progress bars on stderr.
    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False,
                               progress_bars=ProgressBarsConfig(globally=False))
    context = gx.get_context(mode="ephemeral", project_config=config)
    if data_docs_dir is not None:
        Path(data_docs_dir).mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(site_name=SITE, site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
    return context
