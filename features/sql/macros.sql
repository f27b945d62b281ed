-- Macros the feature SQL shares (created by features.build.stg_views, before any feature or label SQL runs;
-- the names in braces are filled from recobro.contract there).
-- end_of_day_utc(d): the first instant after calendar day d, in UTC: what was posted before it was known on d.
create or replace macro end_of_day_utc(d) as timezone('UTC', cast(d as date) + interval 1 day);
-- known_unreversed(...): a payment known by the end of as_of and not reversed by then (a reversal counts
-- once it is posted before the same instant and effective by as_of).
create or replace macro known_unreversed(posted_at, reversal_posted_at, reversal_effective_date, as_of) as
    posted_at < end_of_day_utc(as_of)
    and not coalesce(reversal_posted_at < end_of_day_utc(as_of) and reversal_effective_date <= cast(as_of as date), false);
-- promise_grace_end(due_date): the last effective date of a payment that counts toward a promise
-- (recobro.contract.PROMISE_GRACE_DAYS after its due date; docs/TABLES.md).
create or replace macro promise_grace_end(due_date) as cast(due_date as date) + {promise_grace_days};
-- covers(paid, owed): paid reaches recobro.contract.PROMISE_KEPT_SHARE of owed. A promise is kept when
-- its payments cover the promised amount; the same tolerance makes a payment a full instalment.
create or replace macro covers(paid, owed) as paid >= {promise_kept_share} * owed;
