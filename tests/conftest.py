"""Shared fixtures. Each test gets its own RECOBRO_HOME under tmp_path."""

from __future__ import annotations

import json
import re

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


class PlanRecorder:
    """Stands in for a DuckDB connection: EXPLAINs every query statement before running it and keeps
    the joins that compare every row with every row, keyed by the statement's first line.

    A join is kept when it has no equality key: a blockwise nested-loop join (DuckDB's fallback for a
    condition such as "this account OR this person's"), or a nested-loop, piecewise-merge or IE join
    on ranges alone. Those grow with rows x rows at any size: 100k accounts' decisions against their
    20k holds took 87 s. `allowed` names first lines whose range join is meant (a spine of accounts x
    a few snapshot dates). Everything else is passed to the connection.
    """

    QUERY = re.compile(r"\s*(create\s+(or\s+replace\s+)?(temp\s+|temporary\s+)?table\s+\S+\s+as\b|insert\s+into\b"
                       r"|select\b|with\b)", re.IGNORECASE)
    RANGE_JOINS = {"NESTED_LOOP_JOIN", "PIECEWISE_MERGE_JOIN", "IE_JOIN"}

    def __init__(self, con, allowed=()):
        self._con = con
        self.allowed = set(allowed)
        self.explained: list[str] = []
        self.slow: dict[str, list[str]] = {}

    def execute(self, sql, *args):
        if self.QUERY.match(re.sub(r"^(\s*--[^\n]*\n)*", "", sql)):
            head = next(line for line in sql.strip().splitlines() if not line.startswith("--"))
            self.explained.append(head)
            plan = json.loads(self._con.execute("explain (format json) " + sql, *args).fetchall()[0][1])
            joins = [f"{node['name']}: {conditions}" for node, conditions in self._joins(plan)
                     if node["name"] == "BLOCKWISE_NL_JOIN"
                     or (node["name"] in self.RANGE_JOINS and not any(self._equality(c) for c in conditions))]
            if joins and head not in self.allowed:
                self.slow[head] = joins
        return self._con.execute(sql, *args)

    @classmethod
    def _joins(cls, nodes):
        for node in nodes:
            info = node.get("extra_info") or {}
            if node["name"].endswith("_JOIN"):
                yield node, info.get("Conditions") or [info.get("Condition", "")]
            yield from cls._joins(node.get("children", []))

    @staticmethod
    def _equality(condition) -> bool:
        return bool(re.fullmatch(r"[^=<>!() ]+ = [^=<>!() ]+", str(condition).strip()))

    def __getattr__(self, name):
        return getattr(self._con, name)


@pytest.fixture
def plan_recorder():
    """PlanRecorder(con): run pipeline code through it, then assert on `.slow`."""
    return PlanRecorder
