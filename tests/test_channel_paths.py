"""The channel model's path learner (issue 5): the money each logged contact's own path brought
(`train_channel_response.direct_share_30d`, hand-computed on a small ledger) and a learner that
recovers per-account channel effects the 30-day outcome under business as usual hides."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from recobro.contract import create_raw_tables

AS_OF = date(2024, 4, 30)

# Four UK accounts, 100 past due since 1 Feb; every contact is an outbound logged decision.
# a1: agent call ends in a promise (p1) that is paid (60 + 40) inside its window; an own payment of 25
#     later in the 30 days is not the contact's. a2: a clicked SMS, paid on the spot through the payment
#     link (70); the card payment the next day is the debtor's own. a3: an answered voice call, a
#     hardship plan from the next day and its direct debit (45). a4: a delivered SMS, then an inbound
#     promise the next day: not the outbound contact's path. a5: a clicked SMS whose link payment was
#     reversed before as_of.
FIXTURE_SQL = """
insert into raw_customers (customer_id, country, region, timezone, language, birth_year, created_at) values
    ('c1', 'UK', 'LDN', 'Europe/London', 'en', 1970, '2023-01-01 00:00:00+00'),
    ('c2', 'UK', 'LDN', 'Europe/London', 'en', 1980, '2023-01-01 00:00:00+00'),
    ('c3', 'UK', 'LDN', 'Europe/London', 'en', 1990, '2023-01-01 00:00:00+00'),
    ('c4', 'UK', 'LDN', 'Europe/London', 'en', 1960, '2023-01-01 00:00:00+00'),
    ('c5', 'UK', 'LDN', 'Europe/London', 'en', 1975, '2023-01-01 00:00:00+00');

insert into raw_accounts (account_id, customer_id, product, currency, opened_at, placed_at, principal, jurisdiction)
select 'a' || i, 'c' || i, 'personal_loan', 'GBP', '2023-06-01 00:00:00+00', '2024-02-01 08:00:00+00', 500, 'UK'
from range(1, 6) as t(i);

insert into raw_ledger (entry_id, account_id, posted_at, effective_date, entry_type, amount, currency,
                        reverses_entry_id, payment_method)
select 'ch' || i, 'a' || i, '2024-01-01 10:00:00+00', '2024-01-01', 'charge', 500, 'GBP', null, null
from range(1, 6) as t(i)
union all
select 'in' || i, 'a' || i, '2024-02-01 01:00:00+00', '2024-02-01', 'installment_due', 100, 'GBP', null, null
from range(1, 6) as t(i);

insert into raw_ledger (entry_id, account_id, posted_at, effective_date, entry_type, amount, currency,
                        reverses_entry_id, payment_method) values
    ('y1', 'a1', '2024-03-04 12:00:00+00', '2024-03-04', 'payment', 60, 'GBP', null, 'card'),
    ('y2', 'a1', '2024-03-08 12:00:00+00', '2024-03-08', 'payment', 40, 'GBP', null, 'bank_transfer'),
    ('y3', 'a1', '2024-03-20 12:00:00+00', '2024-03-20', 'payment', 25, 'GBP', null, 'card'),
    ('y4', 'a2', '2024-03-02 15:00:00+00', '2024-03-02', 'payment', 70, 'GBP', null, 'payment_link'),
    ('y5', 'a2', '2024-03-03 12:00:00+00', '2024-03-03', 'payment', 10, 'GBP', null, 'card'),
    ('y6', 'a3', '2024-03-05 06:00:00+00', '2024-03-05', 'payment', 45, 'GBP', null, 'direct_debit'),
    ('y7', 'a4', '2024-03-06 12:00:00+00', '2024-03-06', 'payment', 50, 'GBP', null, 'card'),
    ('y8', 'a5', '2024-03-02 15:00:00+00', '2024-03-02', 'payment', 80, 'GBP', null, 'payment_link'),
    ('y9', 'a5', '2024-03-06 06:00:00+00', '2024-03-06', 'reversal', 80, 'GBP', 'y8', null);

insert into raw_promises (promise_id, account_id, created_at, promised_amount, currency, due_date, channel) values
    ('p1', 'a1', '2024-03-01 14:05:00+00', 100, 'GBP', '2024-03-08', 'agent_call'),
    ('p4', 'a4', '2024-03-02 11:00:00+00', 50, 'GBP', '2024-03-07', 'agent_call');

insert into raw_contacts (contact_id, account_id, customer_id, channel, direction, started_at, outcome, cost,
                          propensity) values
    ('k1', 'a1', 'c1', 'agent_call', 'outbound', '2024-03-01 14:00:00+00', 'promise', 2.0, 0.05),
    ('k2', 'a2', 'c2', 'sms', 'outbound', '2024-03-02 14:55:00+00', 'clicked', 0.03, 0.10),
    ('k3', 'a3', 'c3', 'voice', 'outbound', '2024-03-03 16:00:00+00', 'rpc', 0.2, 0.08),
    ('k4', 'a4', 'c4', 'sms', 'outbound', '2024-03-01 10:00:00+00', 'delivered', 0.03, 0.10),
    ('k4b', 'a4', 'c4', 'agent_call', 'inbound', '2024-03-02 11:00:00+00', 'promise', null, null),
    ('k5', 'a5', 'c5', 'sms', 'outbound', '2024-03-02 14:55:00+00', 'clicked', 0.03, 0.10);

insert into raw_holds (hold_id, customer_id, account_id, kind, starts_at, ends_at) values
    ('h3', 'c3', 'a3', 'hardship_plan', '2024-03-04 15:00:00+00', '2024-06-01 00:00:00+00');
"""


@pytest.fixture
def training_rows(con):
    from models.channel_data import channel_training_set, load_training_frame

    create_raw_tables(con)
    con.execute(FIXTURE_SQL)
    channel_training_set(con, AS_OF, none_sample=1)
    frame = load_training_frame(con)
    return frame[frame["arm"] != "none"].set_index("account_id")


def test_direct_path_money_is_only_what_the_contact_itself_brought(training_rows):
    f = training_rows
    assert set(f.index) == {"a1", "a2", "a3", "a4", "a5"}
    direct = f["direct_paid_30d"].to_dict()
    assert direct == {"a1": 100.0, "a2": 70.0, "a3": 45.0, "a4": 0.0, "a5": 0.0}
    # the 30-day outcome the other learners use counts the debtor's own payments too
    assert f.loc["a1", "paid_amount_30d"] == 125.0 and f.loc["a2", "paid_amount_30d"] == 80.0
    assert f.loc["a4", "paid_amount_30d"] == 50.0
    assert f["direct_share_30d"].to_dict() == pytest.approx({"a1": 1.0, "a2": 0.7, "a3": 0.45, "a4": 0.0, "a5": 0.0})
    assert (f["direct_paid_30d"] <= f["paid_amount_30d"]).all()


def _confounded_logs(n: int = 40_000, seed: int = 3) -> pd.DataFrame:
    """Logged decisions where an answered agent call is worth a promise for the whole past due to a
    debtor short of it (`short`), and an engaged SMS a little to everybody; the 30-day outcome under
    business as usual is the same on every arm (follow-up contacts wash the difference out)."""
    rng = np.random.default_rng(seed)
    short = rng.random(n) < 0.4
    arm = rng.choice(np.array(["none", "sms", "agent_call"], dtype=object), size=n, p=[0.4, 0.3, 0.3])
    p_engage = np.where(arm == "sms", 0.3, np.where(arm == "agent_call", 0.25, 0.0))
    engaged = rng.random(n) < p_engage
    direct = np.where(engaged & (arm == "agent_call"), np.where(short, 0.6, 0.05),
                      np.where(engaged & (arm == "sms"), 0.1, 0.0))
    direct = np.clip(direct + rng.normal(0, 0.02, n) * (direct > 0), 0, 1)
    paid = np.clip(np.where(short, 0.2, 0.5) + rng.normal(0, 0.1, n), 0, 1)
    return pd.DataFrame({"short": short.astype(float), "noise": rng.normal(size=n), "arm": arm,
                         "propensity": np.where(arm == "none", np.nan, 0.3), "engaged": engaged.astype(float),
                         "direct_share_30d": direct, "paid_share_30d": paid, "none_sample_weight": 1.0})


def test_path_learner_finds_the_channel_the_business_as_usual_outcome_hides():
    from models.channel import fit_channel_model

    arms = ("none", "sms", "agent_call")
    logs = _confounded_logs()
    params = {"features": ["short", "noise"], "arms": arms, "min_child_samples": 100}
    path = fit_channel_model(logs, **params)
    response = fit_channel_model(logs, learner="response", **params)
    grid = pd.DataFrame({"short": [1.0, 0.0], "noise": [0.0, 0.0]})
    up = path.uplift(grid)
    # P(engaged) x V x (1 - paid anyway): 0.25 x 0.6 x 0.8 for a short debtor's agent call, 0.3 x 0.1 x 0.8
    # for an SMS; 0.25 x 0.05 x 0.5 for the other debtor's agent call
    assert up.loc[0, "agent_call"] == pytest.approx(0.12, abs=0.015)
    assert up.loc[0, "sms"] == pytest.approx(0.024, abs=0.008)
    assert up.loc[1, "agent_call"] == pytest.approx(0.00625, abs=0.006)
    stake, costs = np.full(2, 100.0), {"sms": 0.5, "agent_call": 2.0}
    assert list(path.best_channel(grid, stake, costs)) == ["agent_call", "sms"]
    # the 30-day outcome shows no arm effect, so the response learner cannot tell the two debtors apart
    assert (response.best_channel(grid, stake, costs) != "agent_call").all()


def test_path_learner_needs_the_direct_outcome():
    from models.channel import ChannelResponseModel

    logs = _confounded_logs(n=2_000)
    model = ChannelResponseModel(features=["short", "noise"], arms=("none", "sms", "agent_call"), min_child_samples=50)
    with pytest.raises(ValueError, match="direct_share_30d"):
        model.fit(logs.drop(columns="direct_share_30d"), logs["paid_share_30d"], logs["arm"], logs["propensity"])
    with pytest.raises(ValueError, match=r"direct must lie in \[0, 1\]"):
        model.fit(logs, logs["paid_share_30d"], logs["arm"], logs["propensity"],
                  direct=logs["direct_share_30d"] + 2.0)
