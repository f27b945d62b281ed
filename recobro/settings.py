"""One settings object: embedded defaults, `recobro.toml`, then `RECOBRO_*` environment variables.

Nothing here touches the disk or global state at import; `Settings.load()` only reads.
Call `settings.ensure_dirs()` from a command that is about to write.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path = Path("data")
    warehouse_path: Path | None = None
    mlflow_tracking_uri: str | None = None
    mlflow_artifacts_dir: Path | None = None
    inbox_dir: Path | None = None
    exports_dir: Path | None = None
    reports_dir: Path | None = None
    truth_dir: Path | None = None
    outbox_path: Path | None = None
    prefect_home: Path | None = None
    rule_packs_dir: Path | None = None
    seed: int = 7
    busy_timeout_s: float = 30.0
    # rows a training set keeps at most, by a hash sample of accounts; None = features.build.TRAINING_MAX_ROWS,
    # 0 = every row
    training_max_rows: int | None = None
    # DuckDB's memory limit for the warehouse, e.g. "8GB" (None = DuckDB's default, 80% of RAM); past it
    # DuckDB spills to disk, so on a shared server this bounds recobro's share of memory
    warehouse_memory_limit: str | None = None

    @classmethod
    def load(cls, config_file: str | Path | None = None, **overrides) -> "Settings":
        """Defaults, then `recobro.toml` (or RECOBRO_CONFIG), then RECOBRO_* variables, then overrides."""
        values: dict = {}
        path = Path(config_file or os.environ.get("RECOBRO_CONFIG", "recobro.toml"))
        if path.is_file():
            with path.open("rb") as fh:
                values.update(tomllib.load(fh).get("recobro", {}))
        for f in fields(cls):
            env = os.environ.get(f"RECOBRO_{f.name.upper()}")
            if env is not None and env != "":
                values[f.name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls()._with(values)

    def _with(self, values: dict) -> "Settings":
        typed = {}
        for f in fields(self):
            if f.name not in values:
                continue
            v = values[f.name]
            if f.name in ("seed", "training_max_rows"):
                v = int(v)
            elif f.name in ("busy_timeout_s",):
                v = float(v)
            elif f.name == "warehouse_memory_limit":
                v = str(v)
            elif f.name != "mlflow_tracking_uri":
                v = Path(v)
            typed[f.name] = v
        base = replace(self, **typed)
        home = base.home.resolve() if not base.home.is_absolute() else base.home
        return replace(
            base,
            home=home,
            warehouse_path=base.warehouse_path or home / "warehouse.duckdb",
            mlflow_tracking_uri=base.mlflow_tracking_uri or f"sqlite:///{home / 'mlflow.db'}",
            mlflow_artifacts_dir=base.mlflow_artifacts_dir or home / "mlartifacts",
            inbox_dir=base.inbox_dir or home / "inbox",
            exports_dir=base.exports_dir or home / "exports",
            reports_dir=base.reports_dir or home / "reports",
            truth_dir=base.truth_dir or home / "truth",
            outbox_path=base.outbox_path or home / "dispatch" / "outbox.sqlite",
            prefect_home=base.prefect_home or home / "prefect",
            rule_packs_dir=base.rule_packs_dir or Path(__file__).resolve().parent.parent / "decisioning" / "rules",
        )

    def ensure_dirs(self) -> "Settings":
        """Create the folders a writing command needs. Call it from commands, never at import."""
        for p in (self.home, self.inbox_dir, self.exports_dir, self.reports_dir, self.truth_dir,
                  self.mlflow_artifacts_dir, self.prefect_home, self.outbox_path.parent,
                  self.warehouse_path.parent):
            p.mkdir(parents=True, exist_ok=True)
        return self
