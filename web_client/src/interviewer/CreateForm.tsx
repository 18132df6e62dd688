import { type FormEvent, type ReactNode, useEffect, useRef, useState } from "react";
import {
  ApiError,
  PLAN_LIMITS,
  RESUME_TYPES,
  api,
  errorsByField,
  planApi,
  type CreatedInterview,
  type DraftedBy,
  type InterviewDocuments,
  type InterviewPlan,
} from "../api";
import { Notice } from "../common/ui";
import { CustomQuestions, type QuestionDraft, checkQuestion, toCustom } from "./CustomQuestions";
import { type EditablePlan, PlanEditor, editable, planOf, plannedFrom } from "./PlanEditor";

type Draft = Record<keyof InterviewPlan, string>;

const EMPTY: Draft = {
  candidate_name: "",
  role: "",
  level: "mid",
  type: "technical",
  mode: "practice",
  duration_minutes: "20",
  question_count: "5",
  focus_areas: "",
  language: "en",
};

/** The same bounds as the server's InterviewPlan, checked before sending so most mistakes are
 * shown at once; the server's 422 details are shown per field as well. */
function check(d: Draft): Record<string, string> {
  const errors: Record<string, string> = {};
  const name = d.candidate_name.trim();
  if (!name) errors.candidate_name = "Enter the candidate’s name.";
  else if (name.length > 80) errors.candidate_name = "At most 80 characters.";
  const role = d.role.trim();
  if (!role) errors.role = "Enter the role.";
  else if (role.length > 80) errors.role = "At most 80 characters.";
  const minutes = Number(d.duration_minutes);
  if (!Number.isInteger(minutes) || minutes < 5 || minutes > 90)
    errors.duration_minutes = "A whole number of minutes from 5 to 90.";
  const count = Number(d.question_count);
  if (!Number.isInteger(count) || count < 1 || count > 20) errors.question_count = "From 1 to 20 questions.";
  const areas = splitAreas(d.focus_areas);
  if (areas.length > 8) errors.focus_areas = "At most 8 focus areas.";
  else if (areas.some((a) => a.length > 60)) errors.focus_areas = "Each focus area is at most 60 characters.";
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(d.language.trim()))
    errors.language = "A language tag such as en, de or pt-BR.";
  return errors;
}

function splitAreas(s: string): string[] {
  return s
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
}

function toPlan(d: Draft): InterviewPlan {
  return {
    candidate_name: d.candidate_name.trim(),
    role: d.role.trim(),
    level: d.level as InterviewPlan["level"],
    type: d.type as InterviewPlan["type"],
    mode: d.mode as InterviewPlan["mode"],
    duration_minutes: Number(d.duration_minutes),
    question_count: Number(d.question_count),
    focus_areas: splitAreas(d.focus_areas),
    language: d.language.trim(),
  };
}

const KB = 1024;

export function formatBytes(n: number): string {
  if (n < KB) return `${n} bytes`;
  if (n < KB * KB) return `${(n / KB).toFixed(n < 10 * KB ? 1 : 0)} KB`;
  return `${(n / KB / KB).toFixed(1)} MB`;
}

/** The résumé's own checks before upload (the server checks again and reads the text). */
function checkResume(f: File): string | null {
  const name = f.name.toLowerCase();
  const known = f.type in RESUME_TYPES || Object.values(RESUME_TYPES).some((ext) => name.endsWith(ext));
  if (!known) return "Choose a PDF, a Word document (.docx) or a plain text file.";
  if (f.size === 0) return "This file is empty.";
  if (f.size > PLAN_LIMITS.resumeBytes)
    return `This file is ${formatBytes(f.size)}; the limit is ${formatBytes(PLAN_LIMITS.resumeBytes)}.`;
  return null;
}

/** The job description, the résumé and the team's questions: any of them makes the create flow
 * two steps (draft a plan, confirm it); keys as the draft endpoint names its fields. */
function checkExtras(jd: string, resume: File | null, custom: QuestionDraft[], count: number): Record<string, string> {
  const errors: Record<string, string> = {};
  if (jd.trim().length > PLAN_LIMITS.jobDescriptionChars)
    errors.job_description = `At most ${PLAN_LIMITS.jobDescriptionChars.toLocaleString("en")} characters (this one has ${jd.trim().length.toLocaleString("en")}).`;
  const refused = resume && checkResume(resume);
  if (refused) errors.resume = refused;
  if (custom.length > PLAN_LIMITS.customQuestions)
    errors.custom_questions = `At most ${PLAN_LIMITS.customQuestions} questions of your own.`;
  else if (Number.isInteger(count) && custom.length > count)
    errors.custom_questions = `You wrote ${custom.length} questions but chose ${count} in all: raise the number of questions or remove some.`;
  custom.forEach((q, i) => {
    for (const [k, v] of Object.entries(checkQuestion(q))) errors[`custom_questions[${i}].${k}`] = v;
  });
  return errors;
}

/** The draft endpoint names the settings' fields `settings.role` (`settings.focus_areas[2]`);
 * the form names them `role` (`focus_areas`). */
function formKeys(errors: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(errors).map(([k, v]) => {
      const bare = k.replace(/^settings\./, "");
      const base = bare.replace(/\[\d+\]$/, "");
      return [base in EMPTY ? base : bare, v];
    }),
  );
}

/** Whether the page has a place for an error on this field (else its message is shown whole). */
function placed(k: string): boolean {
  return (
    k in EMPTY ||
    ["job_description", "resume", "custom_questions"].includes(k) ||
    /^custom_questions\[\d+\]\.(text|ideal_answer|time_limit_s)$/.test(k) ||
    /^question_plan\.(questions|role_summary|candidate_summary)(\[\d+\]|$)/.test(k)
  );
}

interface Planned {
  plan: EditablePlan;
  documents: InterviewDocuments | null;
  drafted_by: DraftedBy;
  warnings: string[];
}

export function CreateForm({
  apiKey,
  onCreated,
  onUnauthorized,
}: {
  apiKey: string;
  onCreated: (c: CreatedInterview) => void;
  onUnauthorized: () => void;
}) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState<"creating" | "drafting" | null>(null);
  const [created, setCreated] = useState<CreatedInterview | null>(null);
  const [jd, setJd] = useState("");
  const [resume, setResume] = useState<File | null>(null);
  const [fileInput, setFileInput] = useState(0); // remounts the file input to clear it
  const [custom, setCustom] = useState<QuestionDraft[]>([]);
  const [planned, setPlanned] = useState<Planned | null>(null);
  const [plannerDown, setPlannerDown] = useState<string | null>(null);
  const [planError, setPlanError] = useState<string | null>(null);
  const [elapsed, setElapsed] = useState(0);
  // With a plan on the page the form folds into one line, so the plan is what the team sees.
  const [formOpen, setFormOpen] = useState(false);
  const abort = useRef<AbortController | null>(null);

  const twoSteps = !!(jd.trim() || resume || custom.length);

  useEffect(() => {
    if (busy !== "drafting") return;
    setElapsed(0);
    const t = window.setInterval(() => setElapsed((s) => s + 1), 1000);
    return () => window.clearInterval(t);
  }, [busy]);

  const set = (k: keyof Draft) => (e: { target: { value: string } }) =>
    setDraft((d) => ({ ...d, [k]: e.target.value }));

  const focusFirst = (found: Record<string, string>) => {
    const k = Object.keys(found)[0];
    if (!k) return;
    const row = /^custom_questions\[(\d+)\]\.(\w+)/.exec(k);
    const id = row
      ? `cq-${custom[Number(row[1])]?.key}-${row[2] === "ideal_answer" ? "ideal" : row[2] === "time_limit_s" ? "min" : "text"}`
      : k === "custom_questions"
        ? "cq-title"
        : `f-${k}`;
    const el = document.getElementById(id);
    if (el?.tagName === "H3") el.scrollIntoView();
    el?.focus();
  };

  const reset = () => {
    setDraft((d) => ({ ...EMPTY, role: d.role, level: d.level, type: d.type, mode: d.mode }));
    // The documents are personal data: nothing of them stays on the page after the invite.
    setJd("");
    setResume(null);
    setFileInput((n) => n + 1);
    setCustom([]);
    setPlanned(null);
    setPlannerDown(null);
  };

  const fail = (err: unknown, where: "form" | "plan"): void => {
    if (err instanceof DOMException && err.name === "AbortError") return;
    const e2 = err as ApiError;
    if (e2.status === 401) return onUnauthorized();
    const fields = formKeys(errorsByField(e2));
    setErrors(fields);
    const onForm = Object.keys(fields).filter((k) => !k.startsWith("question_plan"));
    const keys = Object.keys(fields);
    const message = keys.length && keys.every(placed) ? "Check the highlighted fields." : e2.message;
    if (where === "plan") {
      setPlanError(onForm.length ? "Check the highlighted fields in the form above." : message);
      if (onForm.length) setFormOpen(true);
    } else {
      setFormError(message);
    }
    focusFirst(Object.fromEntries(onForm.map((k) => [k, fields[k]])));
  };

  const build = async () => {
    setBusy("drafting");
    setPlannerDown(null);
    setPlanned(null);
    const ctl = new AbortController();
    abort.current = ctl;
    try {
      const d = await planApi.draft(
        apiKey,
        { settings: toPlan(draft), jobDescription: jd.trim(), customQuestions: custom.map(toCustom), resume },
        ctl.signal,
      );
      setPlanned({ plan: editable(d.plan), documents: d.documents, drafted_by: d.drafted_by, warnings: d.warnings });
      setPlanError(null);
      setFormOpen(false);
      window.setTimeout(() => document.getElementById("plan-title")?.focus(), 0);
    } catch (err) {
      if (err instanceof ApiError && err.status === 503 && err.code === "planner_unavailable") {
        setPlannerDown(err.message);
      } else fail(err, "form");
    } finally {
      abort.current = null;
      setBusy(null);
    }
  };

  /** The planner did not answer: the team's questions become the plan, and the team adds more. */
  const continueManually = () => {
    setPlanned({
      plan: editable({
        questions: custom.map((q) => plannedFrom(q)),
        role_summary: "",
        candidate_summary: "",
      }),
      documents: jd.trim()
        ? { job_description: jd.trim(), resume_text: "", resume_filename: null, resume_pages: null }
        : null,
      drafted_by: "manual",
      warnings: resume ? ["The résumé was not read (the planner did not answer); it is not kept with the interview."] : [],
    });
    setPlannerDown(null);
    setPlanError(null);
    setFormOpen(false);
    window.setTimeout(() => document.getElementById("plan-title")?.focus(), 0);
  };

  const createOneStep = async () => {
    setBusy("creating");
    try {
      const c = await api.create(apiKey, toPlan(draft));
      setCreated(c);
      reset();
      onCreated(c);
    } catch (err) {
      const e2 = err as ApiError;
      if (e2.status === 401) return onUnauthorized();
      const fields = e2.fieldErrors();
      setErrors(fields);
      setFormError(Object.keys(fields).length ? "Check the highlighted fields." : e2.message);
    } finally {
      setBusy(null);
    }
  };

  const confirm = async () => {
    if (!planned) return;
    const found = check(draft);
    setErrors(found);
    setPlanError(null);
    if (Object.keys(found).length) {
      setPlanError("Check the highlighted fields in the form above.");
      setFormOpen(true);
      window.setTimeout(() => focusFirst(found), 0);
      return;
    }
    const plan = planOf(planned.plan);
    setBusy("creating");
    try {
      const c = await planApi.create(apiKey, {
        ...toPlan(draft),
        question_count: plan.questions.length,
        question_plan: plan,
        documents: planned.documents,
        drafted_by: planned.drafted_by,
      });
      setCreated(c);
      reset();
      onCreated(c);
      window.setTimeout(() => document.getElementById("invite-url")?.focus(), 0);
    } catch (err) {
      fail(err, "plan");
    } finally {
      setBusy(null);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    // With a plan on the page, Enter in a field must not throw the team's edits away.
    if (planned || busy) return;
    const found = { ...check(draft), ...checkExtras(jd, resume, custom, Number(draft.question_count)) };
    setErrors(found);
    setFormError(null);
    setCreated(null);
    if (Object.keys(found).length) return focusFirst(found);
    void (twoSteps ? build() : createOneStep());
  };

  const chooseResume = (f: File | null) => {
    setResume(f);
    setErrors(({ resume: _gone, ...rest }) => (f && checkResume(f) ? { ...rest, resume: checkResume(f)! } : rest));
  };

  const field = (k: string, label: string, input: ReactNode, hint?: ReactNode) => (
    <div className="field" data-field={k}>
      <label htmlFor={`f-${k}`}>{label}</label>
      {input}
      {hint && !errors[k] && (
        <p className="hint" id={`f-${k}-hint`}>
          {hint}
        </p>
      )}
      {errors[k] && (
        <p className="field-error" id={`f-${k}-error`} data-testid={`error-${k}`}>
          {errors[k]}
        </p>
      )}
    </div>
  );
  const described = (k: string) => ({
    id: `f-${k}`,
    "aria-invalid": errors[k] ? true : undefined,
    "aria-describedby": errors[k] ? `f-${k}-error` : `f-${k}-hint`,
  });
  const aria = (k: keyof Draft) => ({ ...described(k), value: draft[k], onChange: set(k) });
  const locked = busy !== null;

  return (
    <section className={planned ? "card span-all create-planned" : "card"} aria-labelledby="create-title">
      <h2 id="create-title">New interview</h2>
      {planned && (
        <div className="plan-settings" data-testid="plan-settings">
          <p>
            <strong>{draft.candidate_name.trim()}</strong> · {draft.role.trim()} · {draft.level} · {draft.type} ·{" "}
            {draft.mode} · {draft.duration_minutes} minutes · {draft.question_count} questions
          </p>
          <p className="muted small">
            {[
              jd.trim() && "job description",
              resume && `résumé (${resume.name})`,
              custom.length && `${custom.length} ${custom.length === 1 ? "question" : "questions"} of your own`,
            ]
              .filter(Boolean)
              .join(" · ")}
          </p>
          <button type="button" aria-expanded={formOpen} aria-controls="create-form" onClick={() => setFormOpen((o) => !o)}>
            {formOpen ? "Hide the details" : "Change the details"}
          </button>
        </div>
      )}
      <form id="create-form" onSubmit={submit} noValidate className="grid-form" hidden={!!planned && !formOpen}>
        {field("candidate_name", "Candidate name", <input type="text" autoComplete="off" {...aria("candidate_name")} />)}
        {field("role", "Role", <input type="text" placeholder="Backend engineer" {...aria("role")} />)}
        {field(
          "level",
          "Level",
          <select {...aria("level")}>
            <option value="junior">Junior</option>
            <option value="mid">Mid</option>
            <option value="senior">Senior</option>
            <option value="lead">Lead</option>
          </select>,
        )}
        {field(
          "type",
          "Type",
          <select {...aria("type")}>
            <option value="technical">Technical</option>
            <option value="behavioral">Behavioral</option>
            <option value="mixed">Mixed</option>
          </select>,
        )}
        {field(
          "mode",
          "Mode",
          <select {...aria("mode")}>
            <option value="practice">Practice</option>
            <option value="screening">Screening</option>
          </select>,
          draft.mode === "practice" ? "The candidate sees feedback at the end" : "Scores stay with your team",
        )}
        {field("duration_minutes", "Duration (minutes)", <input type="number" inputMode="numeric" min={5} max={90} {...aria("duration_minutes")} />, "5 to 90")}
        {field("question_count", "Questions", <input type="number" inputMode="numeric" min={1} max={20} {...aria("question_count")} />, "1 to 20")}
        {field("language", "Language", <input type="text" {...aria("language")} />, "A tag such as en or pt-BR")}
        <div className="span-all">
          {field("focus_areas", "Focus areas", <input type="text" placeholder="databases, concurrency" {...aria("focus_areas")} />, "Comma separated, up to 8")}
        </div>
        <div className="span-all plan-inputs">
          <p className="hint">
            Optional: with a job description, a résumé or questions of your own, the questions are planned for
            this candidate and you check the plan before the invite.
          </p>
          {field(
            "job_description",
            "Job description (optional)",
            <textarea rows={5} value={jd} onChange={(e) => setJd(e.target.value)} {...described("job_description")} />,
            <span className={jd.trim().length > PLAN_LIMITS.jobDescriptionChars ? "over" : undefined} data-testid="jd-counter">
              {jd.trim().length.toLocaleString("en")} / {PLAN_LIMITS.jobDescriptionChars.toLocaleString("en")} characters
            </span>,
          )}
          {field(
            "resume",
            "Résumé (optional)",
            <input
              key={fileInput}
              type="file"
              accept={[...Object.keys(RESUME_TYPES), ...Object.values(RESUME_TYPES)].join(",")}
              onChange={(e) => chooseResume(e.target.files?.[0] ?? null)}
              {...described("resume")}
            />,
            resume ? (
              <span data-testid="resume-chosen">
                {resume.name} · {formatBytes(resume.size)}
              </span>
            ) : (
              `PDF, DOCX or text; up to ${formatBytes(PLAN_LIMITS.resumeBytes)} and ${PLAN_LIMITS.resumePages} pages. Read for the plan, never shown to the candidate.`
            ),
          )}
          {resume && (
            <button type="button" className="link" onClick={() => (chooseResume(null), setFileInput((n) => n + 1))}>
              Remove the résumé
            </button>
          )}
          <CustomQuestions items={custom} onChange={setCustom} errors={errors} disabled={locked} />
        </div>
        <div className="span-all row">
          {planned ? (
            <button type="button" className="secondary" disabled={locked} onClick={() => void build()}>
              Build the plan again (discards your edits)
            </button>
          ) : (
            <button type="submit" className="primary" disabled={locked}>
              {busy === "drafting" ? "Building the plan…" : busy === "creating" ? "Creating…" : twoSteps ? "Build the plan" : "Create interview"}
            </button>
          )}
          {busy === "drafting" && (
            <button type="button" onClick={() => abort.current?.abort()}>
              Cancel
            </button>
          )}
          {formError && (
            <p className="field-error" role="alert" data-testid="form-error">
              {formError}
            </p>
          )}
        </div>
        {busy === "drafting" && (
          <div className="span-all drafting" role="status" data-testid="plan-progress">
            <progress aria-label="Building the plan" />
            <p>
              Building the plan: reading the documents and choosing the questions… <span className="muted">{elapsed} s</span>
            </p>
          </div>
        )}
      </form>
      {plannerDown && (
        <Notice tone="warning" title="The planner is not available right now" testId="planner-unavailable">
          <p>{plannerDown}</p>
          <p>
            You can try again, or continue with {custom.length ? "your questions" : "an empty plan"} and add the
            questions you want asked yourself.
          </p>
          <div className="row">
            <button type="button" className="primary" onClick={continueManually}>
              Continue with my questions
            </button>
            <button type="button" onClick={() => void build()}>
              Try again
            </button>
          </div>
        </Notice>
      )}
      {planned && (
        <PlanEditor
          plan={planned.plan}
          onChange={(plan) => setPlanned({ ...planned, plan })}
          draftedBy={planned.drafted_by}
          warnings={planned.warnings}
          chosenCount={Number(draft.question_count)}
          minutes={Number(draft.duration_minutes)}
          errors={errors}
          busy={busy !== null}
          formError={planError}
          onConfirm={() => void confirm()}
          onBack={() => (setPlanned(null), setPlanError(null))}
        />
      )}
      {created && <InviteLink created={created} />}
    </section>
  );
}

function InviteLink({ created }: { created: CreatedInterview }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.invite.url);
      setCopied(true);
    } catch {
      (document.getElementById("invite-url") as HTMLInputElement | null)?.select();
    }
  };
  return (
    <Notice tone="info" title={`Interview created for ${created.interview.plan.candidate_name}`} testId="invite">
      <p>Send this link to the candidate. It is shown only now.</p>
      <div className="row nowrap">
        <label htmlFor="invite-url" className="visually-hidden">
          Candidate link
        </label>
        <input id="invite-url" type="text" readOnly value={created.invite.url} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={() => void copy()}>
          {copied ? "Copied" : "Copy link"}
        </button>
      </div>
      <p role="status" className="visually-hidden">
        {copied ? "Link copied" : ""}
      </p>
      <p>
        <a href={`/observe/${created.interview.id}`}>Watch this interview</a>
      </p>
    </Notice>
  );
}
