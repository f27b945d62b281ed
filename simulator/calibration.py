"""Calibration of the default scenario against the published magnitudes of DOMAIN.md §4.

    report = calibration_report(20_000, 150, seed=0)
    print(render_calibration(report))

Four checks: early self-cure share, the relative lift of one SMS reminder (played forward
against no contact on the same luck), the promise-kept rate, and the AUC of a plain
LightGBM promise-kept model on observable features (out of time), next to the Bayes AUC
of the true keep probabilities. `recobro simulate calibrate` prints the rendering.
"""

from __future__ import annotations

import numpy as np

from simulator import params as P

BANDS = {  # metric -> (low, high), from DOMAIN.md §4 (and a realistic band for promise keeping)
    "self_cure_30d": (0.40, 0.60),
    "sms_lift_relative": (0.03, 0.15),
    "promise_kept_rate": (0.40, 0.65),
    "promise_model_auc": (0.70, 0.85),
}


def calibration_report(n_accounts: int = 20_000, days: int = 150, seed: int = 0, scenario="default") -> dict:
    """Measured value, band and pass flag per calibration metric (plus the Bayes AUC beside the model's)."""
    from simulator import simulate_world
    from simulator.playforward import play_forward
    from simulator.reference import POLICIES
    from simulator.truth import cure_flags

    world, holds, history, _, _ = simulate_world(n_accounts, days, seed, scenario=scenario)
    observable, _, self_cured = cure_flags(world, history)
    none = play_forward(world, holds, history, POLICIES["no_contact"], days=30, seed=seed + 1)
    sms = play_forward(world, holds, history, POLICIES["sms_reminder"], days=30, seed=seed + 1)
    base, lifted = none.summary["cure_rate"], sms.summary["cure_rate"]
    kept, p_keep, features, train = promise_dataset(world, holds, history)
    model_auc, bayes_auc = promise_model_auc(features, kept, p_keep, train, seed)
    values = {
        "self_cure_30d": float(self_cured[observable].mean()),
        "sms_lift_relative": (lifted - base) / base if base > 0 else 0.0,
        "promise_kept_rate": float(kept.mean()),
        "promise_model_auc": model_auc,
    }
    metrics = {k: {"value": round(v, 4), "low": BANDS[k][0], "high": BANDS[k][1],
                   "ok": bool(BANDS[k][0] <= v <= BANDS[k][1])} for k, v in values.items()}
    return {
        "n_accounts": n_accounts, "days": days, "seed": seed, "scenario": str(scenario),
        "metrics": metrics, "bayes_auc": round(bayes_auc, 4),
        "sms": {"cure_rate_no_contact": round(base, 4), "cure_rate_sms": round(lifted, 4),
                "paid_rate_no_contact": round(none.summary["paid_rate"], 4),
                "paid_rate_sms": round(sms.summary["paid_rate"], 4), "sms_sent": sms.summary["contacts"]},
        "promises": {"matured": int(len(kept)), "train": int(train.sum()), "test": int((~train).sum())},
        "ok": all(m["ok"] for m in metrics.values()),
    }


def promise_dataset(world, holds, history) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Matured promises: (kept, true p_keep, observable features (n, k), out-of-time train mask).

    Features are what a lender sees when the promise is made: amount, instalment, channel,
    country, product, age, days since placement, earlier promises and broken ones, recent
    contacts and how many of them were engaged with, and disputes or hardship plans on record.
    """
    from simulator.contacts import ENGAGED
    from simulator.holds import account_interval
    from simulator.payments import ENTRY

    Pm, C = history.promises, history.contacts
    acc = Pm["account"].astype(np.int64)
    day, due = Pm["day"].astype(np.int64), Pm["due_day"].astype(np.int64)
    matured = due + P.PROMISE_GRACE_DAYS + P.MAX_POST_LAG_DAYS <= world.days - 1
    a, c = world.accounts, world.customers
    cust = a.customer[acc]
    fx = np.array([P.FX[x] for x in P.COUNTRIES])[c.country[cust]]
    order = np.lexsort((np.arange(len(acc)), day, acc))
    prior, prior_broken = np.zeros(len(acc)), np.zeros(len(acc))
    closes = due + P.PROMISE_GRACE_DAYS
    broken = ~Pm["kept"].astype(bool)
    for i, j in zip(order[:-1], order[1:]):  # walk each account's promises in time order
        if acc[i] == acc[j]:
            prior[j] = prior[i] + 1
            prior_broken[j] = prior_broken[i] + (broken[i] and closes[i] < day[j])
    c_acc, c_day = C["account"].astype(np.int64), C["day"].astype(np.int64)
    engaged = np.isin(C["outcome"].astype(np.int64), ENGAGED)
    key = c_acc * 10_000 + c_day
    srt = np.argsort(key, kind="stable")
    cum_eng = np.r_[0, np.cumsum(engaged[srt])]
    lo = np.searchsorted(key[srt], acc * 10_000 + day - 30)
    hi = np.searchsorted(key[srt], acc * 10_000 + day)
    L = history.ledger
    paid = L["type"].astype(np.int64) == ENTRY["payment"]
    pkey = np.sort(L["account"].astype(np.int64)[paid] * 10_000 + L["day"].astype(np.int64)[paid])
    payments_before = np.searchsorted(pkey, acc * 10_000 + day) - np.searchsorted(pkey, acc * 10_000)
    from simulator.behaviour import payday_matrix

    payday_cum = np.cumsum(payday_matrix(world.start, world.days + 40), axis=1)
    payday_in_window = payday_cum[c.country[cust], due] - payday_cum[c.country[cust], day] > 0
    features = np.column_stack([
        payday_in_window, payments_before,
        Pm["amount"].astype(float) / 100 / fx, a.instalment[acc] / 100 / fx,
        Pm["amount"].astype(float) / np.maximum(a.instalment[acc], 1), Pm["channel"].astype(np.int64),
        c.country[cust], a.product[acc], 2026 - c.birth_year[cust], day - a.placed_day[acc], due - day,
        prior, prior_broken, hi - lo, cum_eng[hi] - cum_eng[lo], a.principal[acc] / 100 / fx,
        *[(s >= 0) & (s <= day) for s in (account_interval(holds, len(a), k)[0][acc]
                                         for k in ("dispute", "hardship_plan"))],
    ])
    kept = Pm["kept"].astype(bool)[matured]
    cut = np.quantile(day[matured], 0.7) if matured.any() else 0
    return kept, Pm["p_keep"].astype(float)[matured], features[matured], day[matured] <= cut


def promise_model_auc(features: np.ndarray, kept: np.ndarray, p_keep: np.ndarray, train: np.ndarray,
                      seed: int) -> tuple[float, float]:
    """(AUC of a plain LightGBM classifier on the out-of-time test promises, AUC of the true p_keep there)."""
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    test = ~train
    model = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=15, min_child_samples=30,
                               subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=seed,
                               verbose=-1, n_jobs=1)
    model.fit(features[train], kept[train], categorical_feature=[5, 6, 7])
    score = model.predict_proba(features[test])[:, 1]
    return float(roc_auc_score(kept[test], score)), float(roc_auc_score(kept[test], p_keep[test]))


def render_calibration(report: dict) -> str:
    """The report as a Markdown table (metric, measured, published band, verdict)."""
    lines = [f"# Simulator calibration ({report['scenario']}, {report['n_accounts']} accounts, "
             f"{report['days']} days, seed {report['seed']})", "",
             "| metric | measured | band | ok |", "|---|---|---|---|"]
    for name, m in report["metrics"].items():
        lines.append(f"| {name} | {m['value']:.4f} | {m['low']:.2f}–{m['high']:.2f} | {'yes' if m['ok'] else 'NO'} |")
    s = report["sms"]
    lines += ["", f"Bayes AUC (true p_keep on the same test promises): {report['bayes_auc']:.4f}",
              f"SMS reminder vs no contact, 30 days, same luck: cure {s['cure_rate_no_contact']:.4f} → "
              f"{s['cure_rate_sms']:.4f}; paid anything {s['paid_rate_no_contact']:.4f} → {s['paid_rate_sms']:.4f} "
              f"({s['sms_sent']} SMS sent)",
              f"Promises matured: {report['promises']['matured']} (train {report['promises']['train']}, "
              f"out-of-time test {report['promises']['test']})"]
    return "\n".join(lines) + "\n"
