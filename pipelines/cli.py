"""`recobro` command line. Every stage runs as a Prefect flow without a server (ephemeral mode).

Run `recobro <command> --help` for each command's options. All commands honour RECOBRO_HOME.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date
from pathlib import Path

from recobro.settings import Settings

DEFAULT_END_DATE = date(2026, 10, 31)


def _prepare_prefect(settings: Settings, verbose: bool) -> None:
    """Point Prefect at a home under RECOBRO_HOME and keep its logs quiet unless asked.

    Must run before Prefect is imported: Prefect reads these variables once.
    """
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # the ephemeral server's default 20 s start-up limit is too tight on a busy 2-core machine
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.getLogger("mlflow").setLevel(logging.WARNING)


def cmd_simulate(args, settings: Settings) -> int:
    """Write a simulated delivery (seven input tables) and its ground truth in a separate folder.

    `recobro simulate calibrate` checks the scenario against the published figures (DOMAIN.md §4);
    `recobro simulate compare` plays reference policies forward on the same customers and luck.
    """
    if args.action == "calibrate":
        from simulator.calibration import calibration_report, render_calibration

        report = calibration_report(args.accounts, args.days, seed=args.seed, scenario=args.scenario)
        print(render_calibration(report))
        return 0 if report["ok"] else 1
    if args.action == "compare":
        from simulator.reference import compare_policies, render_comparison

        frame = compare_policies(args.accounts, history_days=args.days, seed=args.seed, days=args.forward_days,
                                 policies=tuple(args.policies.split(",")), scenario=args.scenario)
        print(render_comparison(frame))
        return 0
    if not args.out:
        raise ValueError("recobro simulate needs --out DIR (or the action calibrate / compare)")
    from simulator import simulate
    from simulator.messiness import parse_messiness

    out = Path(args.out)
    truth = Path(args.truth_dir) if args.truth_dir else settings.truth_dir / out.name
    rows = simulate(args.accounts, args.days, args.seed, out, truth, end_date=args.end_date, fmt=args.format,
                    scenario=args.scenario, messiness=parse_messiness(args.messiness),
                    bau_truth_runs=args.bau_truth_runs, observable_truth=args.observable_truth)
    for name, n in rows.items():
        print(f"  {name:<20} {n:>10,}")
    print(f"delivery: {out}\nground truth (never ingested): {truth}")
    return 0


def cmd_ingest(args, settings: Settings) -> int:
    """Load a delivery folder into the warehouse; bad rows go to the quarantine table."""
    delivery = Path(args.delivery_dir).resolve()
    if not delivery.is_dir():
        raise FileNotFoundError(f"delivery folder {delivery} does not exist")
    from pipelines.flows import ingest_flow

    print(ingest_flow(str(delivery), run_expectations=not args.no_expectations))
    return 0


def cmd_features(args, settings: Settings) -> int:
    """Build point-in-time account features for --as-of."""
    from pipelines.flows import features_flow

    print(f"built {features_flow(args.as_of)} for {args.as_of}")
    return 0


def cmd_train(args, settings: Settings) -> int:
    """Train the models on snapshots before --as-of, log them to MLflow and register them.

    Three registered models: recobro_promise_kept, recobro_pay_propensity and recobro_channel_response
    (per channel, the incremental payment of a contact net of its cost, learned off-policy from the
    logged contacts and their propensities). A first version becomes @champion, later ones @challenger.
    """
    from pipelines.flows import train_flow

    for trained in train_flow(args.as_of):
        print(trained)
    return 0


def cmd_run(args, settings: Settings) -> int:
    """The daily flow: [ingest DELIVERY] → features → score → decide → reasons → publish."""
    from pipelines.flows import daily_flow

    result = daily_flow(args.as_of, str(Path(args.delivery).resolve()) if args.delivery else None,
                        explain_all=args.explain_all)
    print(result["decided"])
    print(result["published"])
    return 0


def cmd_dispatch(args, settings: Settings) -> int:
    """Dispatch the published next-best-actions for --as-of (dry-run: nothing leaves the machine)."""
    if not args.dry_run:
        print("error: live sending needs channel adapters configured; none are yet. Use the default --dry-run.",
              file=sys.stderr)
        return 2
    from pipelines.flows import dispatch_flow

    print(dispatch_flow(args.as_of, dry_run=True))
    return 0


def cmd_report(args, settings: Settings) -> int:
    """Write the HTML report for --as-of and print its path."""
    from pipelines.flows import report_flow

    print(f"report: {report_flow(args.as_of)}")
    return 0


def cmd_models(args, settings: Settings) -> int:
    """Govern the registered models: promote a challenger through the gate, roll back, write model cards.

    promote NAME --as-of D: the challenger becomes champion only if it beats the champion and a rules
    baseline out of time and its score PSI is stable; exit 1 when refused (the reasons are printed).
    For recobro_channel_response the gate is the held-out off-policy value per contact (SNIPS) of its
    channel choice against the champion's and the logged channels'.
    rollback NAME: the previous champion becomes champion again.
    card --as-of D [--truth-dir P]: model cards (AUC vs Bayes AUC, calibration, baselines; the channel
    model's choice scored on the truth against the oracle and the logged channel).
    """
    from recobro.warehouse import warehouse

    if args.action in ("promote", "rollback") and not args.name:
        raise ValueError(f"recobro models {args.action} needs a model name, e.g. recobro_pay_propensity")
    if args.action in ("promote", "card") and not args.as_of:
        raise ValueError(f"recobro models {args.action} needs --as-of YYYY-MM-DD")
    if args.action == "rollback":
        from models.registry import rollback

        print(f"{args.name}: champion is now version {rollback(args.name, settings=settings)}")
        return 0
    if args.action == "promote":
        from models.promotion import promote_challenger

        with warehouse(settings) as con:
            decision = promote_challenger(con, settings, args.name, args.as_of,
                                          allow_psi_investigate=args.allow_psi_investigate)
        print(decision.summary())
        return 0 if decision.promoted else 1
    from models.card import model_card

    truth = Path(args.truth_dir) if args.truth_dir else _only_truth_folder(settings)
    with warehouse(settings) as con:
        print(f"model cards: {model_card(con, settings, args.as_of, truth)}")
    return 0


def _only_truth_folder(settings: Settings) -> Path:
    folders = sorted(p for p in settings.truth_dir.glob("*") if p.is_dir())
    if len(folders) != 1:
        raise ValueError(f"pass --truth-dir: {settings.truth_dir} holds {len(folders)} ground-truth folders")
    return folders[0]


def cmd_bench(args, settings: Settings) -> int:
    """Run the benchmarks (all, or one by name) and print their numbers."""
    from benchmarks.__main__ import main as bench_main

    return bench_main(([args.name] if args.name else []) + args.bench_args)


def cmd_demo(args, settings: Settings) -> int:
    """Simulate a portfolio, ingest, train, run the daily flow, dry-run dispatch, report, summarise."""
    from pipelines.demo import run_demo

    return run_demo(settings, accounts=args.accounts, days=args.days, seed=args.seed, end_date=args.end_date)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recobro", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="show Prefect's task logs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func):
        p = sub.add_parser(name, help=func.__doc__.splitlines()[0], description=func.__doc__)
        p.set_defaults(func=func)
        return p

    def as_of_arg(p, required=True):
        p.add_argument("--as-of", type=date.fromisoformat, required=required, metavar="YYYY-MM-DD",
                       help="business date: events up to the end of this day (UTC) are visible")

    from simulator.scenarios import SCENARIOS

    p = add("simulate", cmd_simulate)
    p.add_argument("action", nargs="?", choices=("calibrate", "compare"),
                   help="calibrate: check the published figures; compare: play policies forward")
    p.add_argument("--accounts", type=int, default=20_000)
    p.add_argument("--days", type=int, default=180, help="days of history")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="default")
    p.add_argument("--messiness", help='dirty the delivery, e.g. "duplicates=0.01,naive_timestamps=0.002"')
    p.add_argument("--end-date", type=date.fromisoformat, default=DEFAULT_END_DATE)
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")
    p.add_argument("--out", help="delivery folder to write")
    p.add_argument("--truth-dir", help="ground-truth folder (default: $RECOBRO_HOME/truth/<delivery name>)")
    p.add_argument("--bau-truth-runs", type=int, default=None, metavar="N",
                   help="BAU play-forwards behind truth p_pay_30d_bau (default 32, ~0.3 s each per 20k "
                        "accounts; 0 skips the column)")
    p.add_argument("--observable-truth", action="store_true",
                   help="add truth_promises.p_keep_observable: P(kept) given only the observable history, the "
                        "model card's Bayes reference on observables (re-runs the history and doubles the BAU play-forwards)")
    p.add_argument("--forward-days", type=int, default=30, help="compare: days to play forward")
    p.add_argument("--policies", default="oracle,bau,random,no_contact", help="compare: policies to play")

    p = add("ingest", cmd_ingest)
    p.add_argument("delivery_dir")
    p.add_argument("--no-expectations", action="store_true", help="skip the Great Expectations report")

    as_of_arg(add("features", cmd_features))
    as_of_arg(add("train", cmd_train))
    p = add("run", cmd_run)
    as_of_arg(p)
    p.add_argument("--delivery", help="ingest this delivery folder first")
    p.add_argument("--explain-all", action="store_true",
                   help="SHAP reason codes for every scored account, not only those that get an action")
    p = add("dispatch", cmd_dispatch)
    as_of_arg(p)
    p.add_argument("--dry-run", action=argparse.BooleanOptionalAction, default=True)
    as_of_arg(add("report", cmd_report))

    p = add("models", cmd_models)
    p.add_argument("action", choices=("promote", "rollback", "card"))
    p.add_argument("name", nargs="?", help="registered model, e.g. recobro_promise_kept")
    p.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD")
    p.add_argument("--allow-psi-investigate", action="store_true",
                   help="promote despite a score PSI in the 0.10-0.25 'investigate' band")
    p.add_argument("--truth-dir", help="card: the simulator's ground-truth folder")

    p = add("bench", cmd_bench)
    p.add_argument("name", nargs="?", help="one benchmark (simulate, ingest, features, models, channel); default all")
    p.add_argument("bench_args", nargs=argparse.REMAINDER, help="arguments for that benchmark")

    p = add("demo", cmd_demo)
    p.add_argument("--accounts", type=int, default=20_000)
    p.add_argument("--days", type=int, default=180)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--end-date", type=date.fromisoformat, default=DEFAULT_END_DATE)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.load()
    _prepare_prefect(settings, args.verbose)
    try:
        return args.func(args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line for known failures; the traceback only with -v
        if args.verbose:
            raise
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
