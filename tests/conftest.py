"""Shared fixtures. Each test gets its own RECOBRO_HOME under tmp_path."""

from __future__ import annotations

import pytest

from recobro.settings import Settings


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings rooted in a fresh temporary RECOBRO_HOME (folders created)."""
    monkeypatch.setenv("RECOBRO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RECOBRO_CONFIG", raising=False)
    return Settings.load(config_file=tmp_path / "absent.toml").ensure_dirs()


@pytest.fixture
def con(settings):
    """A writable connection to the temporary warehouse."""
    from recobro.warehouse import connect

    c = connect(settings)
    yield c
    c.close()


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (it takes ~10 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
