"""Model inventory records (SR 11-7, DOMAIN.md §6): purpose, prohibited uses, features, limits, owner.

The record is written onto the registered model: its description (markdown, what the MLflow
UI shows) and `recobro.inventory.*` tags (what code reads). The model card renders it too.
"""

from __future__ import annotations

from models.policy import FORBIDDEN_COLUMNS, FORBIDDEN_PREFIXES, check_feature_policy

OWNER = "recobro collections analytics (model owner); validation: independent model risk reviewer"
TAG_PREFIX = "recobro.inventory."

PURPOSE = {
    "promise_kept": ("Probability that a promise to pay is kept in full (>= 95% of the promised amount "
                     "paid between the promise and due date + 3 days). Used to rank follow-up of open "
                     "promises and to choose whether to ask for a promise at all."),
    "pay_30d": ("Probability that an account receives a payment within 30 days under the current "
                "contact strategy. Sets the risk tier and, with channel models, the next best action."),
    "channel_response": ("Per channel, the expected extra share of the past-due amount paid within 30 days "
                         "because of one contact through that channel versus no contact, learned off-policy "
                         "from the logged contact history and its propensities. Times the amount at stake "
                         "minus the channel's cost, it values and ranks the channels decide may use; it never "
                         "makes a channel allowed (rule packs, holds and consents filter first)."),
}
PROHIBITED_USES = (
    "Adverse steps (legal referral, credit-bureau report, refusing a payment plan) on the score alone "
    "(GDPR art. 22, CJEU C-634/21 SCHUFA): a human decides, with the reason codes.",
    "Raising contact intensity for customers flagged vulnerable or in hardship (FCA FG21/1, CONC 7.3).",
    "Credit underwriting, pricing or any decision outside collections treatment.",
    "Scoring accounts outside the jurisdictions, products and currencies it was trained on.",
)
LIMITS = (
    "Trained on the logged contact policy: scores are not causal effects of a contact.",
    "Out-of-time performance falls as delinquency ages (JRFM 2025: KS 63% current -> 39% at 31-90 DPD).",
    "Promise-level features are null at account scoring time (no open promise): scores are then "
    "account-level estimates.",
    "Labels mature 30 days (pay_30d) or due date + 3 days (promise_kept) after the snapshot, plus "
    "5 days for late-posted payments; monitoring of calibration lags by that much.",
    "Must be back-tested out of time against the rules baseline before becoming champion; "
    "score PSI >= 0.10 versus the champion's training baseline needs investigation, > 0.25 action.",
)

#: limits that replace LIMITS for a target whose output is not a classifier score
TARGET_LIMITS = {
    "channel_response": (
        "Causal only as far as the logged propensities are right and every channel was tried on similar "
        "accounts: a channel the history never used on a kind of account is extrapolated.",
        "Channel effects are a few points (DOMAIN.md §4): per-account values are noisy; the argmax is "
        "trustworthy on average, not for one account.",
        "The message within a channel (remind, payment link, plan) is not separated in the history: the value "
        "is per contact through the channel under the logged mix of messages.",
        "Outcomes mature 30 days after the decision; held-out evaluation is an off-policy estimate (SNIPS), "
        "and must be confirmed by the randomised champion/challenger/control experiment.",
    ),
}


def inventory_record(target: str, features) -> dict:
    """The inventory record of `target`'s model as a dict (features checked against the policy)."""
    features = list(features)
    check_feature_policy(features, where=f"inventory record of {target}")
    return {
        "target": target,
        "purpose": PURPOSE[target],
        "prohibited_uses": list(PROHIBITED_USES),
        "features": features,
        "feature_policy": ("No personal, protected or special-category data: forbidden columns "
                           f"{sorted(FORBIDDEN_COLUMNS)} and prefixes {list(FORBIDDEN_PREFIXES)} are "
                           "refused at training (models.policy)."),
        "limits": list(TARGET_LIMITS.get(target, LIMITS)),
        "owner": OWNER,
    }


def inventory_markdown(record: dict) -> str:
    """The record as markdown (the registered model's description and a model-card section)."""
    lines = [f"**Purpose.** {record['purpose']}", "", f"**Owner.** {record['owner']}", "",
             "**Prohibited uses.**", *[f"- {u}" for u in record["prohibited_uses"]], "",
             "**Limits.**", *[f"- {u}" for u in record["limits"]], "",
             f"**Feature policy.** {record['feature_policy']}", "",
             f"**Features ({len(record['features'])}).** " + ", ".join(f"`{f}`" for f in record["features"])]
    return "\n".join(lines)


def record_inventory(name: str, target: str, features) -> dict:
    """Write the record onto registered model `name` (description + tags); returns the record.

    Needs the tracking URI to be set (models.registry.use_tracking).
    """
    from mlflow import MlflowClient

    record = inventory_record(target, features)
    client = MlflowClient()
    client.update_registered_model(name, description=inventory_markdown(record))
    tags = {"target": target, "purpose": record["purpose"], "owner": record["owner"],
            "prohibited_uses": " | ".join(record["prohibited_uses"]), "limits": " | ".join(record["limits"]),
            "features": ",".join(record["features"]), "feature_policy": record["feature_policy"]}
    for key, value in tags.items():
        client.set_registered_model_tag(name, TAG_PREFIX + key, value[:5000])
    return record


def read_inventory(name: str) -> dict[str, str]:
    """The `recobro.inventory.*` tags of registered model `name`, without the prefix ({} if none)."""
    from mlflow import MlflowClient

    tags = MlflowClient().get_registered_model(name).tags
    return {k.removeprefix(TAG_PREFIX): v for k, v in tags.items() if k.startswith(TAG_PREFIX)}
