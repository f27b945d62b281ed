"""Coarse Prefect tasks: one per table build, training run, scoring run or export.

Each task opens its own warehouse connection, calls one stage function, and returns a small
summary (counts and names, never rows). Stage imports are local so the CLI starts fast.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from recobro.settings import Settings
from recobro.warehouse import warehouse


@task(name="load-delivery", cache_policy=NO_CACHE)
def load_delivery(settings: Settings, delivery_dir: Path, run_expectations: bool = True):
    from ingestion import load_delivery as _load

    docs = settings.home / "data_docs" if run_expectations else None
    with warehouse(settings) as con:
        return _load(con, Path(delivery_dir), validate=run_expectations, data_docs_dir=docs)


@task(name="build-account-features", cache_policy=NO_CACHE)
def build_account_features(settings: Settings, as_of: date) -> str:
    from features.build import fct_account_features, stg_views

    with warehouse(settings) as con:
        stg_views(con)
        return fct_account_features(con, as_of)


@task(name="build-training-sets", cache_policy=NO_CACHE)
def build_training_sets(settings: Settings, as_of: date) -> list[str]:
    from features.build import stg_views, training_set

    with warehouse(settings) as con:
        stg_views(con)
        return [training_set(con, target, as_of, **_row_cap(settings)) for target in ("promise_kept", "pay_30d")]


@task(name="build-channel-training-set", cache_policy=NO_CACHE)
def build_channel_training_set(settings: Settings, as_of: date) -> str:
    from models.channel_data import channel_training_set

    with warehouse(settings) as con:
        return channel_training_set(con, as_of, **_row_cap(settings))


def _row_cap(settings: Settings) -> dict:
    """`max_rows` for a training-set builder when the settings name one (else the builder's default)."""
    return {} if settings.training_max_rows is None else {"max_rows": settings.training_max_rows}


@task(name="train-models", cache_policy=NO_CACHE)
def train_models(settings: Settings, as_of: date):
    from models.train import train_models as _train

    with warehouse(settings) as con:
        return _train(con, settings, as_of)


@task(name="train-channel-model", cache_policy=NO_CACHE)
def train_channel_model(settings: Settings, as_of: date):
    from models.channel_train import train_channel_model as _train

    with warehouse(settings) as con:
        return _train(con, settings, as_of)


@task(name="score-accounts", cache_policy=NO_CACHE)
def score_accounts(settings: Settings, as_of: date, explain_all: bool = False) -> str:
    """Probabilities for every account; SHAP reasons for all only when asked (else explain_actions)."""
    from models.score import score_accounts as _score

    with warehouse(settings) as con:
        return _score(con, settings, as_of, explain_accounts=None if explain_all else "false")


@task(name="explain-actions", cache_policy=NO_CACHE)
def explain_actions(settings: Settings, as_of: date) -> int:
    from decisioning.decide import explain_actions as _explain

    with warehouse(settings) as con:
        return _explain(con, settings, as_of)


@task(name="score-channels", cache_policy=NO_CACHE)
def score_channels(settings: Settings, as_of: date) -> str:
    from models.channel_score import work_channel_values

    with warehouse(settings) as con:
        return work_channel_values(con, settings, as_of)


@task(name="decide-actions", cache_policy=NO_CACHE)
def decide_actions(settings: Settings, as_of: date):
    from decisioning import decide

    with warehouse(settings) as con:
        return decide(con, settings, as_of)


@task(name="publish-tables", cache_policy=NO_CACHE)
def publish_tables(settings: Settings, as_of: date):
    from recobro.publish import publish

    with warehouse(settings) as con:
        return publish(con, settings, as_of)


@task(name="dispatch-actions", cache_policy=NO_CACHE, retries=0)
def dispatch_actions(settings: Settings, as_of: date, dry_run: bool = True):
    from dispatcher import dispatch

    return dispatch(settings, as_of, dry_run=dry_run)


@task(name="build-report", cache_policy=NO_CACHE)
def build_report(settings: Settings, as_of: date) -> Path:
    from reports import build_report as _build

    with warehouse(settings, read_only=True) as con:
        return _build(con, settings, as_of)
