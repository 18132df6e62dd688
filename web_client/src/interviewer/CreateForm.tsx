import { type FormEvent, type ReactNode, useState } from "react";
import { ApiError, api, type CreatedInterview, type InterviewPlan } from "../api";
import { Notice } from "../common/ui";

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
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreatedInterview | null>(null);

  const set = (k: keyof Draft) => (e: { target: { value: string } }) =>
    setDraft((d) => ({ ...d, [k]: e.target.value }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const found = check(draft);
    setErrors(found);
    setFormError(null);
    if (Object.keys(found).length) {
      document.getElementById(`f-${Object.keys(found)[0]}`)?.focus();
      return;
    }
    setBusy(true);
    try {
      const c = await api.create(apiKey, toPlan(draft));
      setCreated(c);
      setDraft((d) => ({ ...EMPTY, role: d.role, level: d.level, type: d.type, mode: d.mode }));
      onCreated(c);
    } catch (err) {
      const e2 = err as ApiError;
      if (e2.status === 401) return onUnauthorized();
      const fields = e2.fieldErrors();
      setErrors(fields);
      setFormError(Object.keys(fields).length ? "Check the highlighted fields." : e2.message);
    } finally {
      setBusy(false);
    }
  };

  const field = (k: keyof Draft, label: string, input: ReactNode, hint?: string) => (
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
  const aria = (k: keyof Draft) => ({
    id: `f-${k}`,
    "aria-invalid": errors[k] ? true : undefined,
    "aria-describedby": errors[k] ? `f-${k}-error` : `f-${k}-hint`,
    value: draft[k],
    onChange: set(k),
  });

  return (
    <section className="card" aria-labelledby="create-title">
      <h2 id="create-title">New interview</h2>
      <form onSubmit={(e) => void submit(e)} noValidate className="grid-form">
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
        <div className="span-all row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Creating…" : "Create interview"}
          </button>
          {formError && (
            <p className="field-error" role="alert" data-testid="form-error">
              {formError}
            </p>
          )}
        </div>
      </form>
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
