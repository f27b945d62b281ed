-- nba_score_reasons: after SHAP reasons were added for the actioned accounts (models.score.add_reasons,
-- run after decide), append them to those accounts' next-best-action reason codes, in the place decide
-- puts them when the reasons already exist at decision time (last). Rows that have them are left alone.
update work_next_best_actions as n
set reason_codes = concat_ws('; ', nullif(n.reason_codes, ''),
                             'score=' || concat_ws(',', s.reason_1, s.reason_2, s.reason_3))
from work_scores as s
where s.account_id = n.account_id
  and s.as_of = n.as_of
  and s.as_of = getvariable('as_of')
  and s.reason_1 is not null
  and coalesce(n.reason_codes, '') not like '%score=%'
