"""models.score.add_reasons: probabilities for everyone first, reasons only for the actioned accounts later."""

from __future__ import annotations

import pytest

from test_models import AS_OF, FEATURES, synthetic_warehouse


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    from models.train import train_models

    with synthetic_warehouse(tmp_path_factory, "reasons") as (settings, con):
        train_models(con, settings, AS_OF, feature_columns=FEATURES.get)
        yield settings, con


def _reasons(con):
    return con.sql("select account_id, reason_1, reason_2, reason_3, reasons_text from work_scores "
                   "order by account_id").df().set_index("account_id")


def test_reasons_added_later_equal_reasons_scored_at_once(scored):
    from models.score import add_reasons, score_accounts

    settings, con = scored
    score_accounts(con, settings, AS_OF)  # reasons for all, in one pass
    at_once = _reasons(con)
    score_accounts(con, settings, AS_OF, explain_accounts="false")  # probabilities only
    assert con.sql("select count(reason_1) from work_scores").fetchall()[0][0] == 0
    con.execute("create or replace table actioned as select account_id from fct_account_features where dpd > 120")
    added = add_reasons(con, settings, AS_OF, "actioned")
    later = _reasons(con)
    chosen = con.sql("select account_id from actioned").df()["account_id"]
    assert added == len(chosen) > 0
    assert later.loc[chosen].equals(at_once.loc[chosen])
    assert later.drop(index=chosen).isna().all().all()
    assert add_reasons(con, settings, AS_OF, "actioned") == 0  # already explained: nothing redone


def test_reasons_refused_when_the_champion_is_not_the_scoring_model(scored):
    from models.score import ModelScoreMismatch, add_reasons, score_accounts

    settings, con = scored
    score_accounts(con, settings, AS_OF, explain_accounts="false")
    con.execute("update work_scores set pay_model = 'recobro_pay_propensity/99'")
    with pytest.raises(ModelScoreMismatch, match="recobro_pay_propensity/99"):
        add_reasons(con, settings, AS_OF, "dpd > 100")
    assert con.sql("select count(reason_1) from work_scores").fetchall()[0][0] == 0
