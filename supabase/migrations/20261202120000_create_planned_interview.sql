-- Creating an interview with its confirmed question plan and its documents, all or nothing.
--
-- The token server calls `create_planned_interview` (PostgREST rpc) when the hiring team posts
-- a plan with the interview: the interview row (with `plan_id`), its `question_plans` row and
-- its `interview_documents` row are written in the one transaction PostgREST runs the call in,
-- so a refusal of any of them (a constraint) leaves none. Like the plain create (an upsert that
-- ignores a duplicate id), a retry with the same interview id writes nothing and returns the
-- interview as the first call stored it. The function runs as its caller (security invoker)
-- and only the service role may call it.
--
-- The dashboard's list view gains `plan_id` (appended: `create or replace view` only adds
-- columns at the end).

create function public.create_planned_interview(
  p_interview jsonb,
  p_plan jsonb,
  p_documents jsonb default null
) returns setof public.interviews
language plpgsql
volatile
security invoker
set search_path = public
as $$
declare
  v_id uuid := (p_interview ->> 'id')::uuid;
  v_plan_id uuid := (p_plan ->> 'id')::uuid;
begin
  if (p_plan ->> 'interview_id')::uuid is distinct from v_id then
    raise exception 'the plan belongs to another interview' using errcode = '22023';
  end if;

  insert into public.interviews (
    id, org_id, owner_id, candidate_name, role, level, type, mode, status, duration_minutes,
    question_count, language, focus_areas, room_name, invite_hash, plan_id
  ) values (
    v_id,
    (p_interview ->> 'org_id')::uuid,
    (p_interview ->> 'owner_id')::uuid,
    p_interview ->> 'candidate_name',
    p_interview ->> 'role',
    p_interview ->> 'level',
    p_interview ->> 'type',
    p_interview ->> 'mode',
    coalesce(p_interview ->> 'status', 'waiting'),
    (p_interview ->> 'duration_minutes')::smallint,
    (p_interview ->> 'question_count')::smallint,
    p_interview ->> 'language',
    coalesce(
      array(select jsonb_array_elements_text(p_interview -> 'focus_areas')), '{}'::text[]
    ),
    p_interview ->> 'room_name',
    p_interview ->> 'invite_hash',
    v_plan_id
  )
  on conflict (id) do nothing;

  if found then
    insert into public.question_plans (
      id, interview_id, questions, role_summary, candidate_summary, drafted_by
    ) values (
      v_plan_id,
      v_id,
      p_plan -> 'questions',
      coalesce(p_plan ->> 'role_summary', ''),
      coalesce(p_plan ->> 'candidate_summary', ''),
      coalesce(p_plan ->> 'drafted_by', 'manual')
    );

    if p_documents is not null and jsonb_typeof(p_documents) = 'object' then
      insert into public.interview_documents (
        interview_id, job_description, resume_text, resume_filename, resume_pages
      ) values (
        v_id,
        coalesce(p_documents ->> 'job_description', ''),
        coalesce(p_documents ->> 'resume_text', ''),
        p_documents ->> 'resume_filename',
        (p_documents ->> 'resume_pages')::smallint
      );
    end if;
  end if;

  -- The first call's row, whether this call wrote it or a retry found it.
  return query select * from public.interviews where id = v_id;
end
$$;

comment on function public.create_planned_interview is
  'Insert an interview with its question plan and documents in one transaction; a retry with '
  'the same interview id returns the first row.';

revoke all on function public.create_planned_interview(jsonb, jsonb, jsonb)
  from public, anon, authenticated;
grant execute on function public.create_planned_interview(jsonb, jsonb, jsonb) to service_role;

-- ------------------------------------------------------------------------------------------
-- the dashboard's list, with the plan's id

create or replace view public.interview_list with (security_invoker = true) as
select
  i.id, i.org_id, i.owner_id, i.candidate_name, i.role, i.level, i.type, i.mode, i.status,
  i.duration_minutes, i.question_count, i.language, i.focus_areas, i.room_name, i.created_at,
  i.started_at, i.ended_at, i.summary, i.input_tokens, i.output_tokens, i.input_audio_tokens,
  i.output_audio_tokens, i.cost_usd,
  d.decision,
  case when e.state = 'done' then e.report ->> 'recommendation' end as recommendation,
  i.plan_id
from public.interviews i
left join public.evaluations e on e.interview_id = i.id
left join lateral (
  select r.decision
  from public.review_events r
  where r.interview_id = i.id and r.kind = 'decision'
  order by r.id desc
  limit 1
) d on true;
