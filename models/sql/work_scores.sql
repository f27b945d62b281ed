-- work_scores (account x as_of): the scores models.score.score_accounts computed, keyed back to their
-- fct_account_features rows by rowid, so account and customer ids never travel through Python.
-- _recobro_scores: one row per fct_account_features row at as_of (_row = its rowid), p_promise_kept,
-- p_pay_30d, risk_tier; _recobro_reasons: the explained rows only. Variables: promise_kept_model, pay_model.
create or replace table work_scores as
select
    cast(f.as_of as date) as as_of,
    cast(f.account_id as varchar) as account_id,
    cast(f.customer_id as varchar) as customer_id,
    cast(s.p_promise_kept as double) as p_promise_kept,
    cast(s.p_pay_30d as double) as p_pay_30d,
    cast(s.risk_tier as varchar) as risk_tier,
    getvariable('promise_kept_model') as promise_kept_model,
    getvariable('pay_model') as pay_model,
    cast(r.reason_1 as varchar) as reason_1,
    cast(r.reason_2 as varchar) as reason_2,
    cast(r.reason_3 as varchar) as reason_3,
    cast(r.reasons_text as varchar) as reasons_text,
from _recobro_scores as s
inner join fct_account_features as f on f.rowid = s._row
left join _recobro_reasons as r on r._row = s._row
