"""Great Expectations suite built from the same rule list, run on a load's accepted rows.

GE takes seconds to import, so it is imported only inside `validate_load`. Personal columns
never reach GE: they are dropped in SQL before the rows leave DuckDB, so the Data Docs built
from the results (which show a few unexpected values) hold no phone, email or contact point.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from recobro.contract import PERSONAL_COLUMNS, TABLES

from ingestion.rules import rules_for

SITE = "recobro"


def accepted_frame(con: duckdb.DuckDBPyConnection, table: str, load_id: str):
    """A pandas frame of one table's rows accepted in this load, personal columns dropped,
    decimals as doubles (GE compares numbers, not Decimal objects)."""
    cols = [c for c in TABLES[table].columns if c.name not in PERSONAL_COLUMNS]
    select = ", ".join(f"{c.name}::double as {c.name}" if c.type.startswith("DECIMAL") else c.name for c in cols)
    return con.execute(f"select {select} from raw_{table} where _load_id = ?", [load_id]).df()


def suite_for(gx, table: str):
    """The expectation suite of one table: every rule that has a GE counterpart."""
    from great_expectations.expectations.row_conditions import Column as Col

    suite = gx.ExpectationSuite(name=f"recobro_{table}")
    for rule in rules_for(table):
        if rule.expectation is None or rule.column in PERSONAL_COLUMNS:
            continue
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
    actions = [gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[SITE])] if data_docs_dir else []
    rows = []
    for table in tables:
        batch = source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe(f"{table}_accepted")
        suite = context.suites.add(suite_for(gx, table))
        definition = context.validation_definitions.add(gx.ValidationDefinition(name=table, data=batch, suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"recobro_{table}", validation_definitions=[definition], actions=actions, result_format="BASIC"))
        result = checkpoint.run(batch_parameters={"dataframe": accepted_frame(con, table, load_id)},
                                run_id=RunIdentifier(run_name=load_id))
        for validation in result.run_results.values():
            for r in validation.results:
                config = r.expectation_config
                column = (config.kwargs.get("column")
                          or f"{config.kwargs.get('column_A')},{config.kwargs.get('column_B')}")
                rows.append((load_id, table, config.type, column, bool(r.success),
                             int(r.result.get("unexpected_count") or 0)))
    con.execute("delete from ge_results where load_id = ?", [load_id])
    if rows:
        con.executemany("insert into ge_results values (?, ?, ?, ?, ?, ?)", rows)
    return sum(1 for r in rows if not r[4])


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
