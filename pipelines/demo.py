"""`recobro demo`: the whole loop on a simulated portfolio, then a summary of what it produced."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import date

from recobro.settings import Settings
from recobro.warehouse import warehouse


@contextmanager
def _step(n: int, total: int, what: str):
    print(f"[{n}/{total}] {what} ...", flush=True)
    started = time.perf_counter()
    yield
    print(f"      done in {time.perf_counter() - started:.1f}s", flush=True)


def run_demo(settings: Settings, accounts: int, days: int, seed: int, end_date: date) -> int:
    """Run simulate → ingest → train → daily → dispatch (dry-run) → report; print the summary."""
    from pipelines.flows import daily_flow, dispatch_flow, ingest_flow, report_flow, train_flow
    from simulator import simulate

    settings = settings.ensure_dirs()
    name = f"sim-seed{seed}-{accounts}x{days}-{end_date.isoformat()}"
    delivery = settings.inbox_dir / name
    total = 6
    started = time.perf_counter()
    with _step(1, total, f"simulating {accounts:,} accounts with {days} days of history"):
        simulate(accounts, days, seed, delivery, settings.truth_dir / name, end_date=end_date)
    with _step(2, total, f"ingesting {delivery}"):
        loaded = ingest_flow(str(delivery))
    with _step(3, total, "training models (features at weekly snapshots, channel response off-policy, MLflow)"):
        train_flow(end_date)
    with _step(4, total, f"daily flow for as_of {end_date}: features → score → decide → reasons → publish"):
        daily = daily_flow(end_date)
    with _step(5, total, "dispatching in dry-run (nothing leaves the machine)"):
        dispatched = dispatch_flow(end_date, dry_run=True)
    with _step(6, total, "writing the report"):
        report = report_flow(end_date)
    print()
    print(loaded)
    print(daily["decided"])
    print(dispatched)
    print(summary(settings, end_date, report))
    print(f"\ntotal time {time.perf_counter() - started:.0f}s")
    return 0


def _model_metrics(settings: Settings) -> list[str]:
    from mlflow import MlflowClient

    from models.registry import REGISTERED_NAMES, use_tracking, version_by_alias

    use_tracking(settings)
    lines = []
    for model in REGISTERED_NAMES.values():
        version = version_by_alias(model, "champion")
        if version is None:  # the summary reports a missing model instead of failing the demo
            lines.append(f"  {model}: no champion")
            continue
        metrics = MlflowClient().get_run(version.run_id).data.metrics
        shown = ", ".join(f"{k}={v:.3f}" for k, v in sorted(metrics.items())
                          if k in ("auc", "ece", "heldout_policy_value", "heldout_logged_value"))
        lines.append(f"  {model} v{version.version} @champion: {shown}")
    return lines


def summary(settings: Settings, as_of: date, report_path) -> str:
    """What the demo produced and where to look (counts only, no personal data)."""
    lines = [f"== recobro demo: as_of {as_of} =="]
    with warehouse(settings, read_only=True) as con:
        lines.append("rows per output table:")
        for table in ("scores", "segments", "next_best_actions", "suppressions"):
            n = con.execute(f"select count(*) from {table} where as_of = ?", [as_of]).fetchall()[0][0]
            lines.append(f"  {table:<18} {n:>8,}")
        lines.append("actions by channel:")
        for action, channel, n in con.execute(
            "select action, coalesce(channel, '-'), count(*) from next_best_actions where as_of = ? "
            "group by all order by 3 desc", [as_of]).fetchall():
            lines.append(f"  {action:<13} {channel:<11} {n:>8,}")
        lines.append("suppressions by reason:")
        for rule, n in con.execute(
            "select rule_id, count(*) from suppressions where as_of = ? group by all order by 2 desc",
            [as_of]).fetchall():
            lines.append(f"  {rule:<28} {n:>8,}")
    lines.append("models:")
    lines += _model_metrics(settings)
    lines += [
        "where to look:",
        f"  report     {report_path}",
        f"  warehouse  {settings.warehouse_path}   (duckdb -readonly {settings.warehouse_path})",
        f"  exports    {settings.exports_dir / as_of.isoformat()}",
        f"  outbox     {settings.outbox_path}",
        f"  MLflow UI  .venv/bin/mlflow ui --backend-store-uri {settings.mlflow_tracking_uri} "
        f"--default-artifact-root {settings.mlflow_artifacts_dir}",
    ]
    return "\n".join(lines)
