-- Human review of an interview: score overrides, notes and decisions, and the dashboard's list.
--
-- `review_events` is an append-only log, one row per reviewer change; what is in effect is
-- derived from it (the latest row per question and rubric for an override, a removal included;
-- the latest decision). Nothing is updated in place, so the log is also the history the report
-- shows. `reviewer` is the interviewer key's id (`key-<sha256 prefix>`), never the key.
--
-- `interview_list` is what the dashboard lists: each interview with its decision in effect and
-- its evaluation's recommendation, so a page is one query whatever its length (no N+1), and
-- filters on decision are filters on a column.

create table public.review_events (
  id bigint generated always as identity primary key,
  -- Assigned by the token server per request: a retried insert lands once.
  event_id uuid not null constraint review_events_event_id_unique unique,
  interview_id uuid not null
    constraint review_events_interview_fk references public.interviews (id) on delete cascade,
  kind text not null
    constraint review_events_kind_valid check (
      kind in ('score_override', 'override_removed', 'note', 'decision')
    ),
  ordinal smallint,
  rubric text
    constraint review_events_rubric_valid check (
      rubric in ('clarity', 'relevance', 'depth', 'accuracy')
    ),
  value smallint constraint review_events_value_range check (value between 1 and 5),
  decision text
    constraint review_events_decision_valid check (decision in ('advance', 'hold', 'reject')),
  -- An override's reason, or a note.
  text text constraint review_events_text_length check (char_length(text) between 1 and 2000),
  reviewer text not null
    constraint review_events_reviewer_length check (char_length(reviewer) between 1 and 200),
  created_at timestamptz not null default now(),
  constraint review_events_kind_fields check (
    case kind
      when 'score_override' then
        ordinal is not null and rubric is not null and value is not null
        and text is not null and char_length(text) <= 500 and decision is null
      when 'override_removed' then
        ordinal is not null and rubric is not null and value is null and decision is null
      when 'note' then
        text is not null and ordinal is null and rubric is null and value is null
        and decision is null
      when 'decision' then
        decision is not null and ordinal is null and rubric is null and value is null
    end
  ),
  -- MATCH SIMPLE: notes and decisions (ordinal null) are not checked against the questions.
  constraint review_events_question_fk foreign key (interview_id, ordinal)
    references public.interview_questions (interview_id, ordinal) on delete cascade
);

comment on table public.review_events is
  'Reviewer changes (overrides, notes, decisions), append-only; the latest per key is in effect.';

create index review_events_interview_idx on public.review_events (interview_id, id);
-- The list's "decision in effect" is the newest decision row per interview.
create index review_events_decision_idx on public.review_events (interview_id, id desc)
  where kind = 'decision';

alter table public.review_events enable row level security;
revoke all on table public.review_events from anon;
revoke all on sequence public.review_events_id_seq from anon;
grant select, insert on table public.review_events to service_role;

-- ------------------------------------------------------------------------------------------
-- the dashboard's list

-- security_invoker: the view reads as its caller, so row-level security on the tables holds
-- (anon sees nothing through it either).
create view public.interview_list with (security_invoker = true) as
select
  i.id, i.org_id, i.owner_id, i.candidate_name, i.role, i.level, i.type, i.mode, i.status,
  i.duration_minutes, i.question_count, i.language, i.focus_areas, i.room_name, i.created_at,
  i.started_at, i.ended_at, i.summary, i.input_tokens, i.output_tokens, i.input_audio_tokens,
  i.output_audio_tokens, i.cost_usd,
  d.decision,
  -- Only a finished evaluation recommends; a running or failed one has none to show.
  case when e.state = 'done' then e.report ->> 'recommendation' end as recommendation
from public.interviews i
left join public.evaluations e on e.interview_id = i.id
left join lateral (
  select r.decision
  from public.review_events r
  where r.interview_id = i.id and r.kind = 'decision'
  order by r.id desc
  limit 1
) d on true;

comment on view public.interview_list is
  'Interviews with their decision in effect and recommendation, for the dashboard list.';

revoke all on table public.interview_list from anon;
grant select on table public.interview_list to service_role;
