"""Portfolio simulator: a synthetic delivery of the seven input tables, plus ground truth.

    from simulator import simulate
    counts = simulate(2000, 60, seed=7, out_dir=inbox / "d1", truth_dir=truth / "d1")

The delivery folder holds exactly the contract tables (recobro.contract.TABLES); the
latent truth (reasons, capacities, keep probabilities) goes to a separate folder that
ingestion never reads. Same seed → byte-identical files.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from recobro.contract import LOAD_ORDER, TABLES

__all__ = ["simulate"]


def simulate(n_accounts: int, days: int, seed: int, out_dir: Path, truth_dir: Path,
             end_date: date = date(2026, 10, 31), fmt: str = "csv") -> dict[str, int]:
    """Simulate `n_accounts` placed over the `days` up to `end_date` and write one delivery.

    Writes `out_dir/<table>.<fmt>` for the seven contract tables and
    `truth_dir/truth_{customers,accounts,promises}.<fmt>`; returns rows written per table
    (truth tables under their `truth_` names).
    """
    from simulator import tables, truth
    from simulator.history import simulate_history
    from simulator.holds import draw_holds
    from simulator.world import build_world
    from simulator.writer import inferred_types, write_table

    if n_accounts < 1 or days < 1:
        raise ValueError("n_accounts and days must be at least 1")
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    if out_dir.resolve() == truth_dir.resolve():
        raise ValueError("truth_dir must differ from out_dir: ingestion must never see ground truth")
    # independent streams so a richer history later does not reshuffle the world itself
    world_rng, history_rng, table_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    world = build_world(world_rng, n_accounts, days, end_date)
    holds = draw_holds(world_rng, world)
    history = simulate_history(history_rng, world, holds)

    customers = tables.customers_table(table_rng, world)
    accounts = tables.accounts_table(table_rng, world)
    contacts = tables.contacts_table(world, history, accounts)
    frames = {
        "customers": customers,
        "accounts": accounts,
        "ledger": tables.ledger_table(world, history, accounts),
        "promises": tables.promises_table(table_rng, history, accounts, contacts, world.start),
        "contacts": contacts,
        "holds": tables.holds_table(world, holds),
        "consents": tables.consents_table(world, history, customers, contacts),
    }
    counts = {}
    for name in LOAD_ORDER:
        types = {c.name: c.type for c in TABLES[name].columns}
        counts[name] = write_table(frames[name], out_dir, name, types, fmt)
    truths = {
        "truth_customers": truth.truth_customers(world, customers),
        "truth_accounts": truth.truth_accounts(world, history, accounts),
        "truth_promises": truth.truth_promises(world, history, frames["promises"]),
    }
    for name, frame in truths.items():
        counts[name] = write_table(frame, truth_dir, name, inferred_types(frame), fmt)
    return counts
