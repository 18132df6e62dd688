-- Interviews designed from the job description and the résumé.
--
-- `question_plans` holds an interview's confirmed plan: its questions in order (JSON, the
-- `interview.planning.PlannedQuestion` shape, custom questions' hidden ideal answers included)
-- and two short summaries for the interviewer's prompt. `interview_documents` holds the job
-- description and the résumé's extracted text (never the file): personal data, readable only
-- with the service role (RLS on, no policy, and no grant to anon or authenticated), deleted
-- with the interview. `interviews.plan_id` names the plan the dispatch metadata carries; an
-- interview created without one keeps today's behaviour (questions drawn from the bank).
-- `interview_questions.plan_item` is the 1-based position in the plan of the asked question.

create table public.question_plans (
  id uuid primary key,
  interview_id uuid not null
    constraint question_plans_interview_fk references public.interviews (id) on delete cascade
    constraint question_plans_interview_unique unique,
  questions jsonb not null
    constraint question_plans_questions_shape check (
      jsonb_typeof(questions) = 'array' and jsonb_array_length(questions) between 1 and 20
    ),
  role_summary text not null default ''
    constraint question_plans_role_summary_length check (char_length(role_summary) <= 600),
  candidate_summary text not null default ''
    constraint question_plans_candidate_summary_length check (
      char_length(candidate_summary) <= 600
    ),
  drafted_by text not null default 'manual'
    constraint question_plans_drafted_by_valid check (drafted_by in ('model', 'offline', 'manual')),
  created_at timestamptz not null default now()
);

comment on table public.question_plans is
  'The confirmed question plan of an interview built from a job description and a résumé.';

create table public.interview_documents (
  interview_id uuid primary key
    constraint interview_documents_interview_fk references public.interviews (id)
    on delete cascade,
  job_description text not null default ''
    constraint interview_documents_jd_length check (char_length(job_description) <= 20000),
  resume_text text not null default ''
    constraint interview_documents_resume_length check (char_length(resume_text) <= 30000),
  resume_filename text
    constraint interview_documents_filename_length check (char_length(resume_filename) <= 200),
  resume_pages smallint
    constraint interview_documents_pages_range check (resume_pages between 0 and 10),
  created_at timestamptz not null default now()
);

comment on table public.interview_documents is
  'Job description and résumé text of an interview: personal data, service role only.';

alter table public.interviews add column plan_id uuid;

alter table public.interview_questions
  add column plan_item smallint
    constraint interview_questions_plan_item_range check (plan_item between 1 and 20);

-- ------------------------------------------------------------------------------------------
-- row-level security: nothing for anon or authenticated; the servers use the service role

alter table public.question_plans enable row level security;
alter table public.interview_documents enable row level security;

revoke all on table public.question_plans, public.interview_documents from anon, authenticated;
grant select, insert, update, delete on table public.question_plans, public.interview_documents
  to service_role;
