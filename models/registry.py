"""MLflow tracking set-up and registry access: load champions (fail closed), move aliases.

Registered models carry aliases, never stages: `champion` is what scoring loads,
`challenger` is a proposed replacement, `previous_champion` is where `promote` parks the
version it replaces so that `rollback` can restore it.
"""

from __future__ import annotations

import logging

from recobro.settings import Settings

EXPERIMENT = "recobro"
#: target -> registered model name
REGISTERED_NAMES = {"promise_kept": "recobro_promise_kept", "pay_30d": "recobro_pay_propensity",
                    "channel_response": "recobro_channel_response"}


class ModelNotFound(LookupError):
    """The registered model or the requested alias does not exist: refuse to score."""


def use_tracking(settings: Settings | None = None) -> Settings:
    """Point MLflow at `settings.mlflow_tracking_uri` and quieten its chatty loggers."""
    import mlflow

    settings = settings or Settings.load()
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    return settings


def ensure_experiment(settings: Settings) -> str:
    """Id of the `recobro` experiment, created with artifacts under `settings.mlflow_artifacts_dir`."""
    from mlflow import MlflowClient

    client = MlflowClient()
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is not None:
        return exp.experiment_id
    settings.mlflow_artifacts_dir.mkdir(parents=True, exist_ok=True)
    return client.create_experiment(EXPERIMENT, artifact_location=settings.mlflow_artifacts_dir.resolve().as_uri())


def version_by_alias(name: str, alias: str):
    """The ModelVersion behind `name@alias`, or None when the model or alias is missing."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _registered_aliases(name: str) -> dict[str, str] | None:
    """{alias: version} of registered model `name`, or None when the model does not exist."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return dict(MlflowClient().get_registered_model(name).aliases)
    except MlflowException:
        return None


def load_champion(settings: Settings, name: str, alias: str = "champion"):
    """Load `models:/<name>@champion` -> (model, version string). Fails closed with ModelNotFound.

    Missing model, missing alias, an alias whose version was deleted (MLflow drops the alias
    with the version) and a version whose artifacts cannot be loaded all raise ModelNotFound.
    """
    import mlflow.sklearn

    use_tracking(settings)
    mv = version_by_alias(name, alias)
    if mv is None:
        aliases = _registered_aliases(name)
        state = (f"registered model '{name}' does not exist" if aliases is None else
                 f"registered model '{name}' has no alias '{alias}' (aliases now: {aliases or 'none'}; "
                 f"a deleted version loses its aliases)")
        raise ModelNotFound(
            f"no model version '{name}@{alias}' in the registry at {settings.mlflow_tracking_uri}: "
            f"{state}; refusing to score without an approved model. Train first (`recobro train`), "
            f"roll back (`recobro models rollback`) or set the alias with "
            f"models.registry.set_alias('{name}', '{alias}', <version>)."
        )
    try:  # by version, so a concurrent alias move cannot pair this version string with another model
        model = mlflow.sklearn.load_model(f"models:/{name}/{mv.version}")
    except Exception as exc:  # any failure to materialise the model means: do not score
        raise ModelNotFound(
            f"'{name}@{alias}' points at version {mv.version}, which could not be loaded "
            f"(dangling alias or missing artifacts); refusing to score: {exc}") from exc
    return model, str(mv.version)


def set_alias(name: str, alias: str, version, *, settings: Settings | None = None) -> None:
    """Point `name@alias` at `version` (moves the alias if it exists)."""
    from mlflow import MlflowClient

    use_tracking(settings)
    MlflowClient().set_registered_model_alias(name, alias, str(version))


def promote(name: str, alias_from: str = "challenger", *, settings: Settings | None = None) -> str:
    """Make `name@alias_from` the champion; the old champion becomes `previous_champion`.

    No checks: this is the mechanism. The gated way is `models.promotion.promote_challenger`,
    which calls this only after the out-of-time back-test passes. Returns the new champion's version.
    """
    from mlflow import MlflowClient

    use_tracking(settings)
    client = MlflowClient()
    new = version_by_alias(name, alias_from)
    if new is None:
        raise ModelNotFound(f"nothing to promote: '{name}@{alias_from}' does not exist")
    old = version_by_alias(name, "champion")
    if old is not None and old.version != new.version:
        client.set_registered_model_alias(name, "previous_champion", str(old.version))
    client.set_registered_model_alias(name, "champion", str(new.version))
    if alias_from != "champion":
        client.delete_registered_model_alias(name, alias_from)
    return str(new.version)


def rollback(name: str, *, settings: Settings | None = None) -> str:
    """Restore `previous_champion` as champion; the demoted version is tagged `rolled_back`."""
    from mlflow import MlflowClient

    use_tracking(settings)
    client = MlflowClient()
    prev = version_by_alias(name, "previous_champion")
    if prev is None:
        raise ModelNotFound(f"cannot roll back '{name}': no previous_champion alias")
    cur = version_by_alias(name, "champion")
    if cur is not None:
        client.set_registered_model_alias(name, "rolled_back", str(cur.version))
    client.set_registered_model_alias(name, "champion", str(prev.version))
    client.delete_registered_model_alias(name, "previous_champion")
    return str(prev.version)
