-- Steering: the hiring team's requests to a live interview's interviewer (a private note, move
-- on, dig deeper, extend, pause, resume, end now), and the interviewer closing a question
-- because the team asked it to.
--
-- One row per steer. The token server inserts it (`pending`), then records whether LiveKit
-- took the data packet for the agent (`delivered`) or there was no interviewer to take it
-- (`undelivered`); the agent records `received`, then `applied` or `declined`. A state only
-- moves forward (`advance_steer`), so a late or replayed write never undoes a later one.
-- `sent_by` is the interviewer key's id (`key-<sha256 prefix>`), never the key. `detail` says
-- why a steer was declined or what applying it did; it never repeats a note's text.

create table public.steers (
  -- Assigned by the token server per request: a retried insert lands once.
  id uuid primary key,
  interview_id uuid not null
    constraint steers_interview_fk references public.interviews (id) on delete cascade,
  kind text not null
    constraint steers_kind_valid check (
      kind in ('note', 'next', 'deeper', 'extend', 'pause', 'resume', 'end')
    ),
  text text constraint steers_text_length check (char_length(text) between 1 and 500),
  sent_by text not null constraint steers_sent_by_length check (char_length(sent_by) between 1 and 200),
  sent_by_name text
    constraint steers_sent_by_name_length check (char_length(sent_by_name) between 1 and 60),
  state text not null default 'pending'
    constraint steers_state_valid check (
      state in ('pending', 'delivered', 'undelivered', 'received', 'applied', 'declined')
    ),
  detail text constraint steers_detail_length check (char_length(detail) between 1 and 300),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint steers_text_only_for_notes check ((kind = 'note') = (text is not null))
);

comment on table public.steers is
  'Requests from observers to the interviewer of a live interview, with their delivery state.';

create index steers_interview_idx on public.steers (interview_id, created_at);

create function public.steer_state_rank(p_state text)
returns integer
language sql
immutable
as $$
  select case p_state
    when 'pending' then 0
    when 'delivered' then 1
    when 'undelivered' then 1
    when 'received' then 2
    when 'applied' then 3
    when 'declined' then 3
  end;
$$;

-- Move a steer to `p_state` if that is forward of where it is; true when it moved.
create function public.advance_steer(p_id uuid, p_state text, p_detail text default null)
returns boolean
language sql
as $$
  with moved as (
    update public.steers
      set state = p_state,
          detail = coalesce(p_detail, detail),
          updated_at = now()
    where id = p_id
      and public.steer_state_rank(p_state) > public.steer_state_rank(state)
    returning 1
  )
  select exists (select 1 from moved);
$$;

-- A question the interviewer closed because the hiring team asked it to move on.
alter table public.interview_questions
  drop constraint interview_questions_outcome_valid,
  add constraint interview_questions_outcome_valid check (
    outcome in ('pending', 'answered', 'skipped', 'timed_out', 'skipped_by_interviewer')
  );

-- ------------------------------------------------------------------------------------------
-- row-level security: nothing for anon; the servers use the service role

alter table public.steers enable row level security;

revoke all on table public.steers from anon;
grant select, insert, update, delete on table public.steers to service_role;

revoke all on function public.steer_state_rank(text) from public, anon;
revoke all on function public.advance_steer(uuid, text, text) from public, anon;
grant execute on function public.steer_state_rank(text) to service_role;
grant execute on function public.advance_steer(uuid, text, text) to service_role;
