-- Macros the feature SQL shares (created by features.build.stg_views, before any feature or label SQL runs).
-- end_of_day_utc(d): the first instant after calendar day d, in UTC: what was posted before it was known on d.
create or replace macro end_of_day_utc(d) as timezone('UTC', cast(d as date) + interval 1 day);
-- known_unreversed(...): a payment known by the end of as_of and not reversed by then (a reversal counts
-- once it is posted before the same instant and effective by as_of).
create or replace macro known_unreversed(posted_at, reversal_posted_at, reversal_effective_date, as_of) as
    posted_at < end_of_day_utc(as_of)
    and not coalesce(reversal_posted_at < end_of_day_utc(as_of) and reversal_effective_date <= cast(as_of as date), false);
