"""Settings: defaults under RECOBRO_HOME, file and environment precedence, nothing at import."""

import subprocess
import sys
from pathlib import Path

from recobro.settings import Settings


def test_defaults_live_under_home(tmp_path, monkeypatch):
    monkeypatch.setenv("RECOBRO_HOME", str(tmp_path))
    s = Settings.load(config_file=tmp_path / "none.toml")
    assert s.warehouse_path == tmp_path / "warehouse.duckdb"
    assert s.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    for p in (s.inbox_dir, s.exports_dir, s.outbox_path, s.reports_dir, s.truth_dir):
        assert tmp_path in p.parents


def test_env_beats_file_and_file_beats_defaults(tmp_path, monkeypatch):
    cfg = tmp_path / "recobro.toml"
    cfg.write_text(f'[recobro]\nhome = "{tmp_path / "from_file"}"\nseed = 11\n')
    monkeypatch.delenv("RECOBRO_HOME", raising=False)
    monkeypatch.delenv("RECOBRO_SEED", raising=False)
    s = Settings.load(config_file=cfg)
    assert s.home == tmp_path / "from_file" and s.seed == 11
    monkeypatch.setenv("RECOBRO_SEED", "3")
    assert Settings.load(config_file=cfg).seed == 3


def test_training_row_cap_comes_from_file_or_env_and_reaches_the_builders(tmp_path, monkeypatch):
    from pipelines.tasks import _row_cap

    monkeypatch.delenv("RECOBRO_TRAINING_MAX_ROWS", raising=False)
    default = Settings.load(config_file=tmp_path / "none.toml")
    assert default.training_max_rows is None and _row_cap(default) == {}  # the builders' own default
    cfg = tmp_path / "recobro.toml"
    cfg.write_text("[recobro]\ntraining_max_rows = 500000\n")
    assert _row_cap(Settings.load(config_file=cfg)) == {"max_rows": 500_000}
    monkeypatch.setenv("RECOBRO_TRAINING_MAX_ROWS", "0")  # 0: every row
    assert _row_cap(Settings.load(config_file=cfg)) == {"max_rows": 0}


def test_warehouse_memory_limit_reaches_duckdb_and_a_bad_one_is_named(tmp_path, monkeypatch):
    import pytest

    from recobro.warehouse import warehouse

    monkeypatch.setenv("RECOBRO_HOME", str(tmp_path))
    monkeypatch.delenv("RECOBRO_WAREHOUSE_MEMORY_LIMIT", raising=False)
    with warehouse(Settings.load(config_file=tmp_path / "none.toml")) as con:
        default = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
    monkeypatch.setenv("RECOBRO_WAREHOUSE_MEMORY_LIMIT", "1GB")
    with warehouse(Settings.load(config_file=tmp_path / "none.toml")) as con:
        assert con.execute("select current_setting('memory_limit')").fetchall()[0][0] == "953.6 MiB" != default
    monkeypatch.setenv("RECOBRO_WAREHOUSE_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="warehouse_memory_limit 'lots' is not a DuckDB memory size"):
        with warehouse(Settings.load(config_file=tmp_path / "none.toml")):
            pass


def test_load_creates_nothing_until_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("RECOBRO_HOME", str(tmp_path / "h"))
    s = Settings.load(config_file=tmp_path / "none.toml")
    assert not (tmp_path / "h").exists()
    s.ensure_dirs()
    assert s.inbox_dir.is_dir() and s.outbox_path.parent.is_dir()


def test_importing_every_package_has_no_side_effects(tmp_path):
    """Nothing runs at import: no folders, no files, no tracking URI set."""
    code = (
        "import os, recobro.settings, recobro.warehouse, recobro.publish, pipelines.cli, pipelines.flows, "
        "features.build, models.train, models.score, simulator, ingestion, decisioning, dispatcher, reports; "
        "import mlflow; assert mlflow.get_tracking_uri() != 'sqlite:///x'; "
        "print(sorted(os.listdir('.')))"
    )
    work = tmp_path / "cwd"
    work.mkdir()
    # Prefect itself creates ~/.prefect when imported; HOME is elsewhere so only our effects are seen
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "user"), "RECOBRO_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
    assert not (tmp_path / "home").exists()
