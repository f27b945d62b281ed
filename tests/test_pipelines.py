"""Wiring: every deployment in prefect.yaml loads, the CLI exposes the documented commands."""

import os
from pathlib import Path

import pytest
import yaml

from pipelines.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def restore_environment():
    """`main()` prepares Prefect through os.environ; keep that from leaking into later tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_every_deployment_entrypoint_loads_a_flow():
    from prefect.flows import load_flow_from_entrypoint

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    names = set()
    for deployment in spec["deployments"]:
        path, func = deployment["entrypoint"].split(":")
        flow = load_flow_from_entrypoint(f"{ROOT / path}:{func}")
        names.add(flow.name)
        for schedule in deployment.get("schedules", []):
            assert len(schedule["cron"].split()) == 5
    assert names == {"daily", "train", "dispatch", "report", "ingest"}


@pytest.mark.parametrize("argv", [
    ["simulate", "--accounts", "10", "--days", "30", "--seed", "1", "--out", "x"],
    ["ingest", "some/dir"],
    ["train", "--as-of", "2026-10-31"],
    ["run", "--as-of", "2026-10-31"],
    ["dispatch", "--as-of", "2026-10-31"],
    ["report", "--as-of", "2026-10-31"],
    ["demo"],
    ["simulate", "calibrate", "--accounts", "5000"],
    ["simulate", "compare", "--policies", "bau,random"],
    ["bench", "simulate", "--sizes", "1000"],
    ["models", "promote", "recobro_pay_propensity", "--as-of", "2026-10-31"],
    ["models", "promote", "recobro_channel_response", "--as-of", "2026-10-31"],
    ["bench", "channel", "--skip-policy", "--train-rows", "1000000"],
    ["models", "rollback", "recobro_promise_kept"],
    ["models", "card", "--as-of", "2026-10-31", "--truth-dir", "x"],
])
def test_documented_command_shapes_parse(argv):
    args = build_parser().parse_args(argv)
    assert args.command == argv[0] and callable(args.func)


def test_bad_date_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["run", "--as-of", "31/10/2026"])
    assert exc.value.code == 2
    assert "--as-of" in capsys.readouterr().err


def test_live_dispatch_is_refused_until_adapters_exist(settings, capsys):
    assert main(["dispatch", "--as-of", "2026-10-31", "--no-dry-run"]) == 2
    assert "dry-run" in capsys.readouterr().err


def test_ingest_of_a_missing_folder_fails_with_one_clear_line(settings, capsys, tmp_path):
    code = main(["ingest", str(tmp_path / "no-such-delivery")])
    err = capsys.readouterr().err
    assert code == 1
    assert "no-such-delivery" in err and "Traceback" not in err


def test_simulate_command_writes_a_messy_delivery_and_separate_truth(settings, tmp_path, capsys):
    out = tmp_path / "delivery"
    code = main(["simulate", "--accounts", "300", "--days", "40", "--seed", "3", "--out", str(out),
                 "--scenario", "latam", "--messiness", "duplicates=0.05"])
    assert code == 0
    truth = settings.truth_dir / "delivery"
    assert sorted(p.stem for p in out.glob("*.csv")) == sorted(
        ["customers", "accounts", "ledger", "promises", "contacts", "holds", "consents"])
    assert not any(p.name.startswith("truth") for p in out.iterdir())
    injected = (truth / "truth_messiness.json").read_text()
    assert "duplicates" in injected
    countries = {line.split(",")[1] for line in (out / "customers.csv").read_text().splitlines()[1:]}
    assert countries <= {"CO", "MX"}


def test_simulate_without_out_or_action_is_a_clear_error(settings, capsys):
    assert main(["simulate", "--accounts", "10"]) == 1
    assert "--out" in capsys.readouterr().err


def test_models_commands_need_their_arguments(settings, capsys):
    assert main(["models", "promote", "--as-of", "2026-10-31"]) == 1
    assert "needs a model name" in capsys.readouterr().err
    assert main(["models", "card"]) == 1
    assert "--as-of" in capsys.readouterr().err


def test_prefect_is_prepared_for_a_slow_machine_without_overriding_the_user(settings, monkeypatch):
    from pipelines.cli import _prepare_prefect

    monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", raising=False)
    monkeypatch.setenv("PREFECT_HOME", "/somewhere/else")
    _prepare_prefect(settings, verbose=False)
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "120"
    assert os.environ["PREFECT_HOME"] == "/somewhere/else"
