"""The Prefect flows. Each reads like a table of contents; `prefect.yaml` schedules them.

Every flow takes plain parameters (dates as ISO strings or `date`) so deployments can call it,
and loads settings from the environment (`RECOBRO_*`, `recobro.toml`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from prefect import flow

from pipelines import tasks
from recobro.settings import Settings


def resolve_as_of(as_of: date | str | None) -> date:
    """`as_of` as a date; default yesterday (UTC), the last complete day."""
    if as_of is None:
        return datetime.now(timezone.utc).date() - timedelta(days=1)
    if isinstance(as_of, date):
        return as_of
    return date.fromisoformat(str(as_of))


@flow(name="ingest")
def ingest_flow(delivery_dir: str, run_expectations: bool = True):
    """Load one delivery folder into the warehouse (contract checks, quarantine, expectations)."""
    settings = Settings.load().ensure_dirs()
    return tasks.load_delivery(settings, Path(delivery_dir), run_expectations=run_expectations)


@flow(name="features")
def features_flow(as_of: date | str | None = None) -> str:
    """Build point-in-time account features for as_of."""
    settings = Settings.load().ensure_dirs()
    return tasks.build_account_features(settings, resolve_as_of(as_of))


@flow(name="train")
def train_flow(as_of: date | str | None = None):
    """Build training sets from snapshots before as_of, train, log to MLflow, register (the two scores
    and the channel response model)."""
    settings = Settings.load().ensure_dirs()
    as_of = resolve_as_of(as_of)
    tasks.build_training_sets(settings, as_of)
    tasks.build_channel_training_set(settings, as_of)
    return [*tasks.train_models(settings, as_of), tasks.train_channel_model(settings, as_of)]


@flow(name="daily")
def daily_flow(as_of: date | str | None = None, delivery_dir: str | None = None, explain_all: bool = False):
    """ingest (if a delivery is given) → features → score (+ channel values) → decide → reasons for the
    actioned accounts (for all with explain_all) → publish."""
    settings = Settings.load().ensure_dirs()
    as_of = resolve_as_of(as_of)
    if delivery_dir:
        tasks.load_delivery(settings, Path(delivery_dir))
    tasks.build_account_features(settings, as_of)
    tasks.score_accounts(settings, as_of, explain_all=explain_all)
    tasks.score_channels(settings, as_of)
    decided = tasks.decide_actions(settings, as_of)
    tasks.explain_actions(settings, as_of)
    published = tasks.publish_tables(settings, as_of)
    return {"decided": decided, "published": published}


@flow(name="dispatch")
def dispatch_flow(as_of: date | str | None = None, dry_run: bool = True):
    """Send (or, by default, dry-run) the published next-best-actions for as_of."""
    settings = Settings.load().ensure_dirs()
    return tasks.dispatch_actions(settings, resolve_as_of(as_of), dry_run=dry_run)


@flow(name="report")
def report_flow(as_of: date | str | None = None) -> Path:
    """Write the analyst HTML report for as_of."""
    settings = Settings.load().ensure_dirs()
    return tasks.build_report(settings, resolve_as_of(as_of))
