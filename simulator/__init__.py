"""Portfolio simulator: a synthetic delivery of the seven input tables, plus ground truth.

    from simulator import simulate
    counts = simulate(2000, 60, seed=7, out_dir=inbox / "d1", truth_dir=truth / "d1",
                      scenario="latam", messiness={"duplicates": 0.01})

The delivery folder holds exactly the contract tables (recobro.contract.TABLES); the
latent truth (reasons, capacities, keep probabilities, injected faults) goes to a separate
folder that ingestion never reads. Same seed → byte-identical files.

Other entry points: `simulator.playforward.play_forward` (compare contact policies on the
same customers and luck), `simulator.calibration.calibration_report`,
`simulator.scenarios.SCENARIOS`, `simulator.messiness.Messiness`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from recobro.contract import LOAD_ORDER, TABLES

__all__ = ["simulate", "simulate_world"]


def simulate_world(n_accounts: int, days: int, seed: int, end_date: date = date(2026, 10, 31), *,
                   scenario="default", observe: bool = False):
    """Draw the world, its holds and its history in memory: (world, holds, history, table_rng, mess_rng).

    `observe` also computes `history.p_keep_observable` (simulator.observable); the history is the same.
    """
    from simulator.history import simulate_history
    from simulator.holds import draw_holds, with_disclosed_plans
    from simulator.scenarios import scenario_named
    from simulator.world import build_world

    if n_accounts < 1 or days < 1:
        raise ValueError("n_accounts and days must be at least 1")
    # independent streams so a richer history later does not reshuffle the world itself
    world_rng, history_rng, table_rng, mess_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
    scenario = scenario_named(scenario)
    world = build_world(world_rng, n_accounts, days, end_date, scenario)
    holds = draw_holds(world_rng, world)
    history = simulate_history(history_rng, world, holds, observe=scenario if observe else None, seed=seed)
    holds = with_disclosed_plans(holds, history.disclosures, world.days)
    return world, holds, history, table_rng, mess_rng


def simulate(n_accounts: int, days: int, seed: int, out_dir: Path, truth_dir: Path,
             end_date: date = date(2026, 10, 31), fmt: str = "csv", *, scenario="default",
             messiness=None, bau_truth_runs: int | None = None, observable_truth: bool = False) -> dict[str, int]:
    """Simulate `n_accounts` placed over the `days` up to `end_date` and write one delivery.

    `scenario` is a name in `simulator.scenarios.SCENARIOS` or a `Scenario`; `messiness` is
    None (clean), a dict of rates or a `Messiness`. Writes `out_dir/<table>.<fmt>` for the
    seven contract tables and `truth_dir/truth_{customers,accounts,promises}.<fmt>` plus
    `truth_dir/truth_messiness.json`; returns rows written per table (truth tables under
    their `truth_` names, injected faults under `truth_messiness`). `bau_truth_runs` BAU
    play-forwards (default `truth.BAU_RUNS`; 0 skips them) estimate `truth_accounts.p_pay_30d_bau`;
    they draw from their own seeds, so the delivery files do not depend on it. `observable_truth` adds
    `truth_promises.p_keep_observable`, P(kept) given the observable history (simulator.observable;
    it re-runs the history and `bau_truth_runs` more play-forwards); the delivery files do not depend on it either.
    """
    from simulator import messiness as M
    from simulator import tables, truth
    from simulator.scenarios import scenario_named
    from simulator.writer import arrow_table, inferred_types, write_arrow, write_table

    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    if out_dir.resolve() == truth_dir.resolve():
        raise ValueError("truth_dir must differ from out_dir: ingestion must never see ground truth")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    mess = M.Messiness.of(messiness)
    scenario = scenario_named(scenario)
    world, holds, history, table_rng, mess_rng = simulate_world(n_accounts, days, seed, end_date,
                                                                scenario=scenario, observe=observable_truth)
    injected = M.Injection(mess)
    if mess.shared_phones:
        M.share_phones(mess_rng, world, mess.shared_phones, injected)

    end = np.datetime64(world.end, "D")

    def emit(name: str, frame) -> int:
        """Format, add this table's faults, write; one table at a time to bound memory."""
        if name == "ledger" and mess.late_payments:
            frame = M.late_payments(mess_rng, frame, end, mess.late_payments, injected)
        if name == "ledger" and mess.reversals:
            frame = M.extra_reversals(mess_rng, frame, end, mess.reversals, injected)
        table = arrow_table(frame, {c.name: c.type for c in TABLES[name].columns}, fmt)
        protected = {}
        if mess.duplicates and name in M.DUPLICATE_TABLES:
            table, protected[name] = M.duplicate_rows(mess_rng, table, name, mess.duplicates, injected)
        if fmt == "csv" and (mess.malformed or mess.naive_timestamps or mess.mixed_decimals):
            table = M.text_faults(mess_rng, {name: table}, mess, protected, injected)[name]
        return write_arrow(table, out_dir, name, fmt)

    counts: dict[str, int] = {}
    customers = tables.customers_table(table_rng, world)
    accounts = tables.accounts_table(table_rng, world)
    contacts = tables.contacts_table(world, history)
    promises = tables.promises_table(table_rng, history, contacts, world)
    truths = {
        "truth_customers": truth.truth_customers(world, customers),
        "truth_accounts": truth.truth_accounts(
            world, history, accounts, holds, seed=seed,
            bau_runs=truth.BAU_RUNS if bau_truth_runs is None else bau_truth_runs),
        "truth_promises": truth.truth_promises(world, history, promises),
    }
    for name, frame in truths.items():
        counts[name] = write_table(frame, truth_dir, name, inferred_types(frame), fmt)
    del truths
    counts["customers"] = emit("customers", customers)
    counts["accounts"] = emit("accounts", accounts)
    del accounts
    counts["ledger"] = emit("ledger", tables.ledger_table(world, history))
    counts["promises"] = emit("promises", promises)
    del promises
    consents = tables.consents_table(world, history, customers, contacts)
    counts["contacts"] = emit("contacts", contacts)
    del contacts, customers
    counts["holds"] = emit("holds", tables.holds_table(world, holds))
    counts["consents"] = emit("consents", consents)
    counts["truth_messiness"] = injected.write(truth_dir, scenario.name)
    return {name: counts[name] for name in (*LOAD_ORDER, *sorted(set(counts) - set(LOAD_ORDER)))}
