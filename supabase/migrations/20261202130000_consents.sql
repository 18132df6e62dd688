-- Consent: the candidate's decision on the consent text shown before joining (an AI interviews
-- them; the conversation is kept as a transcript and scored; who sees it and for how long).
--
-- One row per interview: the first decision is the record and is never rewritten (a retried
-- request lands once). `text_version` names the text the page showed, as the token server sent
-- it. Nothing identifies the candidate here beyond the interview: no name, address or IP.

create table public.consents (
  interview_id uuid primary key
    constraint consents_interview_fk references public.interviews (id) on delete cascade,
  decision text not null constraint consents_decision_valid check (decision in ('agreed', 'declined')),
  text_version text not null
    constraint consents_text_version_length check (char_length(text_version) between 1 and 64),
  decided_at timestamptz not null default now()
);

comment on table public.consents is
  'The candidate''s consent decision per interview, with the version of the text shown.';

-- ------------------------------------------------------------------------------------------
-- row-level security: nothing for anon or authenticated; the token server uses the service role

alter table public.consents enable row level security;

revoke all on table public.consents from anon, authenticated;
grant select, insert, update, delete on table public.consents to service_role;
