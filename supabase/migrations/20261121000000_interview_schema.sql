-- The interview product's schema: interviews, the question bank, what was asked and answered,
-- feedback, the transcript and an audit log.
--
-- Every table the servers write has a natural unique key, so each write the store retries or
-- replays from its outbox is an idempotent upsert (interview + ordinal, interview + item id,
-- event id). Enumerations are text with CHECK constraints (not Postgres enums) so that adding a
-- value is a one-line migration. org_id / owner_id are nullable and unreferenced for now: they
-- leave room for organisations and interviewer accounts (Supabase Auth) without depending on the
-- `auth` schema, which a local stack does not have.
--
-- Row-level security is enabled on every table with no policy: `anon` and `authenticated` see
-- nothing, and `anon` additionally loses its grants so it is refused outright. The servers use
-- the service role, which bypasses row-level security.

-- ------------------------------------------------------------------------------------------
-- interviews

create table public.interviews (
  id uuid primary key,
  org_id uuid,
  owner_id uuid,
  candidate_name text not null
    constraint interviews_candidate_name_length check (char_length(candidate_name) between 1 and 80),
  role text not null
    constraint interviews_role_length check (char_length(role) between 1 and 80),
  level text not null
    constraint interviews_level_valid check (level in ('junior', 'mid', 'senior', 'lead')),
  type text not null
    constraint interviews_type_valid check (type in ('technical', 'behavioral', 'mixed')),
  mode text not null
    constraint interviews_mode_valid check (mode in ('practice', 'screening')),
  status text not null default 'waiting'
    constraint interviews_status_valid check (
      status in ('waiting', 'live', 'completed', 'abandoned', 'failed', 'cancelled')
    ),
  duration_minutes smallint not null default 20
    constraint interviews_duration_range check (duration_minutes between 5 and 90),
  question_count smallint not null default 5
    constraint interviews_question_count_range check (question_count between 1 and 20),
  language text not null default 'en'
    constraint interviews_language_tag check (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'),
  focus_areas text[] not null default '{}'
    constraint interviews_focus_areas_count check (cardinality(focus_areas) <= 8),
  room_name text not null
    constraint interviews_room_name_unique unique
    constraint interviews_room_name_format check (room_name ~ '^[A-Za-z0-9_.:-]{1,128}$'),
  -- SHA-256 (hex) of the candidate's invite secret; the secret itself is never stored.
  invite_hash text not null
    constraint interviews_invite_hash_unique unique
    constraint interviews_invite_hash_format check (invite_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz not null default now(),
  started_at timestamptz,
  ended_at timestamptz,
  summary text
    constraint interviews_summary_length check (char_length(summary) <= 20000),
  -- Model usage: running totals for the interview (the latest report wins).
  input_tokens bigint not null default 0 constraint interviews_input_tokens_nonneg check (input_tokens >= 0),
  output_tokens bigint not null default 0 constraint interviews_output_tokens_nonneg check (output_tokens >= 0),
  input_audio_tokens bigint not null default 0
    constraint interviews_input_audio_tokens_nonneg check (input_audio_tokens >= 0),
  output_audio_tokens bigint not null default 0
    constraint interviews_output_audio_tokens_nonneg check (output_audio_tokens >= 0),
  cost_usd numeric(12, 6) not null default 0 constraint interviews_cost_nonneg check (cost_usd >= 0)
);

comment on table public.interviews is 'One interview: the plan, its room, its lifecycle and model usage.';
comment on column public.interviews.invite_hash is 'SHA-256 hex of the invite secret; never the secret.';

-- The dashboard lists newest first, optionally by status; later per organisation / owner.
create index interviews_created_at_idx on public.interviews (created_at desc);
create index interviews_status_created_at_idx on public.interviews (status, created_at desc);
create index interviews_org_created_at_idx on public.interviews (org_id, created_at desc)
  where org_id is not null;
create index interviews_owner_created_at_idx on public.interviews (owner_id, created_at desc)
  where owner_id is not null;

-- ------------------------------------------------------------------------------------------
-- the question bank

create table public.question_bank (
  id uuid primary key default gen_random_uuid(),
  -- A slug: 'backend-engineer', 'account-executive'; 'general' questions suit any role.
  role text not null
    constraint question_bank_role_slug check (role ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  level text not null
    constraint question_bank_level_valid check (level in ('junior', 'mid', 'senior', 'lead')),
  -- A mixed interview draws from both kinds; the bank itself holds no 'mixed' question.
  type text not null
    constraint question_bank_type_valid check (type in ('technical', 'behavioral')),
  topic text not null
    constraint question_bank_topic_length check (char_length(topic) between 1 and 60),
  difficulty smallint not null
    constraint question_bank_difficulty_range check (difficulty between 1 and 5),
  text text not null
    constraint question_bank_text_length check (char_length(text) between 10 and 1000),
  -- What a strong answer covers: for the interviewer model, never shown to the candidate.
  strong_answer text not null
    constraint question_bank_strong_answer_length check (char_length(strong_answer) between 10 and 2000),
  active boolean not null default true,
  org_id uuid,
  created_at timestamptz not null default now(),
  constraint question_bank_role_text_unique unique (role, text)
);

comment on table public.question_bank is 'Questions the interviewer draws from, per role, level and type.';

create index question_bank_draw_idx on public.question_bank (role, type, level) where active;

-- ------------------------------------------------------------------------------------------
-- questions asked in an interview

create table public.interview_questions (
  id bigint generated always as identity primary key,
  interview_id uuid not null
    constraint interview_questions_interview_fk references public.interviews (id) on delete cascade,
  ordinal smallint not null
    constraint interview_questions_ordinal_range check (ordinal between 1 and 1000),
  bank_question_id uuid
    constraint interview_questions_bank_question_fk references public.question_bank (id)
    on delete set null,
  text text not null
    constraint interview_questions_text_length check (char_length(text) between 1 and 4000),
  topic text not null
    constraint interview_questions_topic_length check (char_length(topic) between 1 and 60),
  difficulty smallint not null
    constraint interview_questions_difficulty_range check (difficulty between 1 and 5),
  asked_at timestamptz not null,
  ended_at timestamptz,
  outcome text not null default 'pending'
    constraint interview_questions_outcome_valid check (
      outcome in ('pending', 'answered', 'skipped', 'timed_out')
    ),
  constraint interview_questions_interview_ordinal_unique unique (interview_id, ordinal)
);

create index interview_questions_bank_question_idx on public.interview_questions (bank_question_id)
  where bank_question_id is not null;

-- ------------------------------------------------------------------------------------------
-- answers and their rubric scores

create table public.answers (
  id bigint generated always as identity primary key,
  interview_id uuid not null
    constraint answers_interview_fk references public.interviews (id) on delete cascade,
  ordinal smallint not null,
  transcript text not null
    constraint answers_transcript_length check (char_length(transcript) <= 100000),
  clarity smallint not null constraint answers_clarity_range check (clarity between 1 and 5),
  relevance smallint not null constraint answers_relevance_range check (relevance between 1 and 5),
  depth smallint not null constraint answers_depth_range check (depth between 1 and 5),
  accuracy smallint not null constraint answers_accuracy_range check (accuracy between 1 and 5),
  overall numeric(3, 2) generated always as ((clarity + relevance + depth + accuracy) / 4.0) stored,
  tags text[] not null default '{}'
    constraint answers_tags_count check (cardinality(tags) <= 10),
  created_at timestamptz not null default now(),
  -- One answer per question: a re-score replaces it.
  constraint answers_interview_ordinal_unique unique (interview_id, ordinal),
  constraint answers_question_fk foreign key (interview_id, ordinal)
    references public.interview_questions (interview_id, ordinal) on delete cascade
);

-- ------------------------------------------------------------------------------------------
-- feedback: per question, and once per interview (ordinal null)

create table public.feedback (
  id bigint generated always as identity primary key,
  interview_id uuid not null
    constraint feedback_interview_fk references public.interviews (id) on delete cascade,
  ordinal smallint,
  bullets text[] not null
    constraint feedback_bullets_count check (cardinality(bullets) between 1 and 10),
  created_at timestamptz not null default now(),
  -- NULLS NOT DISTINCT: at most one final feedback (ordinal null) per interview.
  constraint feedback_interview_ordinal_unique unique nulls not distinct (interview_id, ordinal),
  -- MATCH SIMPLE: a null ordinal (final feedback) is not checked against the questions.
  constraint feedback_question_fk foreign key (interview_id, ordinal)
    references public.interview_questions (interview_id, ordinal) on delete cascade
);

-- ------------------------------------------------------------------------------------------
-- the transcript

create table public.transcript_messages (
  id bigint generated always as identity primary key,
  interview_id uuid not null
    constraint transcript_messages_interview_fk references public.interviews (id) on delete cascade,
  -- The conversation item id: the message's idempotency key within its interview.
  item_id text not null
    constraint transcript_messages_item_id_length check (char_length(item_id) between 1 and 128),
  speaker text not null
    constraint transcript_messages_speaker_valid check (speaker in ('candidate', 'interviewer')),
  text text not null
    constraint transcript_messages_text_length check (char_length(text) <= 100000),
  started_at timestamptz not null,
  ended_at timestamptz,
  interrupted boolean not null default false,
  constraint transcript_messages_interview_item_unique unique (interview_id, item_id)
);

create index transcript_messages_interview_started_idx
  on public.transcript_messages (interview_id, started_at);

-- ------------------------------------------------------------------------------------------
-- the audit log

create table public.audit_events (
  id bigint generated always as identity primary key,
  -- Assigned by the writer when the event happens; a retried or replayed write carries the same
  -- id and is ignored. With a dedupe key (a webhook id), the id is derived from kind and key, so
  -- a replayed webhook is recorded once.
  event_id uuid not null constraint audit_events_event_id_unique unique,
  dedupe_key text
    constraint audit_events_dedupe_key_length check (char_length(dedupe_key) between 1 and 200),
  -- No foreign key: the log records events about rooms and interviews it may not know
  -- (a webhook for an unknown room is worth keeping).
  interview_id uuid,
  kind text not null
    constraint audit_events_kind_format check (kind ~ '^[a-z][a-z0-9_.]{0,63}$'),
  detail jsonb not null default '{}'::jsonb
    constraint audit_events_detail_object check (jsonb_typeof(detail) = 'object'),
  occurred_at timestamptz not null default now(),
  -- One event per kind and key (a replayed webhook); rows without a key are all distinct.
  constraint audit_events_kind_dedupe_key_unique unique (kind, dedupe_key)
);

create index audit_events_interview_occurred_idx on public.audit_events (interview_id, occurred_at)
  where interview_id is not null;
create index audit_events_kind_occurred_idx on public.audit_events (kind, occurred_at desc);

-- ------------------------------------------------------------------------------------------
-- row-level security: nothing for anon; the servers use the service role

alter table public.interviews enable row level security;
alter table public.question_bank enable row level security;
alter table public.interview_questions enable row level security;
alter table public.answers enable row level security;
alter table public.feedback enable row level security;
alter table public.transcript_messages enable row level security;
alter table public.audit_events enable row level security;

revoke all on table
  public.interviews,
  public.question_bank,
  public.interview_questions,
  public.answers,
  public.feedback,
  public.transcript_messages,
  public.audit_events
from anon;

revoke all on sequence
  public.interview_questions_id_seq,
  public.answers_id_seq,
  public.feedback_id_seq,
  public.transcript_messages_id_seq,
  public.audit_events_id_seq
from anon;

grant select, insert, update, delete on table
  public.interviews,
  public.question_bank,
  public.interview_questions,
  public.answers,
  public.feedback,
  public.transcript_messages,
  public.audit_events
to service_role;
