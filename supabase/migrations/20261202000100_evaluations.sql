-- The evaluation after the interview: one row per interview, both the job's claim and its result.
--
-- A text model evaluates each ended interview from the stored record (interview.evaluator). The
-- row is the job: a runner claims it with a lease (`claim_evaluation`, one statement, so two
-- token server replicas or a restarted worker never evaluate one interview twice), counts its
-- attempts (`begin_evaluation_attempt`, which also extends the lease), and finishes it with the
-- report, the model, its usage and cost, or the error code of the last failed attempt. A claim
-- whose lease ran out (its runner died) is taken over by the next claim, at most `p_max_claims`
-- times; then it is marked failed (`lease_expired`) rather than retried for ever.
--
-- States: pending (not used by the runner, left for a requested re-run), running (claimed),
-- done (`report` holds the checked evaluation), failed (every attempt failed), skipped (nothing
-- to evaluate: no candidate answer; no model call).

create table public.evaluations (
  interview_id uuid primary key
    constraint evaluations_interview_fk references public.interviews (id) on delete cascade,
  state text not null default 'pending'
    constraint evaluations_state_valid check (
      state in ('pending', 'running', 'done', 'failed', 'skipped')
    ),
  -- Model calls made (a retry is one more); claims taken (a takeover after a crash is one more).
  attempts smallint not null default 0 constraint evaluations_attempts_nonneg check (attempts >= 0),
  claims smallint not null default 0 constraint evaluations_claims_nonneg check (claims >= 0),
  lease_owner text
    constraint evaluations_lease_owner_length check (char_length(lease_owner) between 1 and 200),
  lease_until timestamptz,
  model text constraint evaluations_model_length check (char_length(model) between 1 and 100),
  input_tokens bigint not null default 0
    constraint evaluations_input_tokens_nonneg check (input_tokens >= 0),
  output_tokens bigint not null default 0
    constraint evaluations_output_tokens_nonneg check (output_tokens >= 0),
  cost_usd numeric(12, 6) constraint evaluations_cost_nonneg check (cost_usd >= 0),
  error_code text
    constraint evaluations_error_code_format check (error_code ~ '^[a-z0-9_]{1,64}$'),
  report jsonb
    constraint evaluations_report_object check (report is null or jsonb_typeof(report) = 'object'),
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint evaluations_running_has_lease check (
    state <> 'running' or (lease_owner is not null and lease_until is not null)
  ),
  constraint evaluations_done_has_report check (state <> 'done' or report is not null)
);

comment on table public.evaluations is
  'The evaluation job of one interview (claim, lease, attempts) and its checked report.';

-- The runner looks for ended interviews by end time; the anti-join reads evaluations by key.
create index interviews_ended_at_idx on public.interviews (ended_at)
  where status in ('completed', 'abandoned', 'failed', 'cancelled');

-- ------------------------------------------------------------------------------------------
-- claiming, one statement each

create function public.claim_evaluation(
  p_owner text,
  p_lease_seconds double precision,
  p_settle_seconds double precision,
  p_ended_after timestamptz,
  p_interview_id uuid,
  p_max_claims integer
) returns setof public.evaluations
language plpgsql
volatile
security invoker
set search_path = public
as $$
declare
  v_id uuid;
begin
  -- A claim taken over too often is given up: its runner keeps dying on it.
  update public.evaluations
  set state = 'failed', error_code = 'lease_expired', lease_owner = null, lease_until = null,
      finished_at = now(), updated_at = now()
  where state = 'running' and lease_until < now() and claims >= p_max_claims;

  -- An ended interview, settled (its last queued writes have had time to land), that has no
  -- evaluation yet, a pending one, or a claim whose lease ran out. Oldest end first.
  select i.id into v_id
  from public.interviews i
  left join public.evaluations e on e.interview_id = i.id
  where i.status in ('completed', 'abandoned', 'failed', 'cancelled')
    and i.ended_at is not null
    and i.ended_at <= now() - make_interval(secs => p_settle_seconds)
    and (p_ended_after is null or i.ended_at >= p_ended_after)
    and (p_interview_id is null or i.id = p_interview_id)
    and (
      e.interview_id is null
      or e.state = 'pending'
      or (e.state = 'running' and e.lease_until < now())
    )
  order by i.ended_at, i.id
  limit 1
  for update of i skip locked;

  if v_id is null then
    return;
  end if;

  -- The guard on the update is what makes the claim exclusive: a concurrent claim of the same
  -- interview re-checks it against the row the first one wrote, and returns nothing.
  return query
  insert into public.evaluations as ev
    (interview_id, state, claims, lease_owner, lease_until, started_at, updated_at)
  values
    (v_id, 'running', 1, p_owner, now() + make_interval(secs => p_lease_seconds), now(), now())
  on conflict (interview_id) do update
    set state = 'running',
        claims = ev.claims + 1,
        lease_owner = excluded.lease_owner,
        lease_until = excluded.lease_until,
        started_at = coalesce(ev.started_at, excluded.started_at),
        updated_at = now()
    where ev.state = 'pending' or (ev.state = 'running' and ev.lease_until < now())
  returning ev.*;
end
$$;

comment on function public.claim_evaluation is
  'Claim the next due evaluation (or the given interview''s) for p_owner; no row: nothing due.';

-- One more model call under the claim: counts it and extends the lease. Null: the claim is no
-- longer p_owner's (it expired and another runner took it over), so the caller stops.
create function public.begin_evaluation_attempt(
  p_interview_id uuid,
  p_owner text,
  p_lease_seconds double precision
) returns integer
language sql
volatile
security invoker
set search_path = public
as $$
  update public.evaluations
  set attempts = attempts + 1,
      lease_until = now() + make_interval(secs => p_lease_seconds),
      updated_at = now()
  where interview_id = p_interview_id and lease_owner = p_owner and state = 'running'
  returning attempts;
$$;

-- ------------------------------------------------------------------------------------------
-- row-level security: nothing for anon; the servers use the service role

alter table public.evaluations enable row level security;

revoke all on table public.evaluations from anon;
grant select, insert, update, delete on table public.evaluations to service_role;

revoke all on function public.claim_evaluation(
  text, double precision, double precision, timestamptz, uuid, integer
) from public, anon;
revoke all on function public.begin_evaluation_attempt(uuid, text, double precision)
  from public, anon;
grant execute on function public.claim_evaluation(
  text, double precision, double precision, timestamptz, uuid, integer
) to service_role;
grant execute on function public.begin_evaluation_attempt(uuid, text, double precision)
  to service_role;
