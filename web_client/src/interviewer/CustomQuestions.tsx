import { PLAN_LIMITS, type CustomQuestion, type FollowUp } from "../api";

/** One question as the form holds it (strings, as typed), for the team's own questions and for
 * a question added or edited in the plan. `key` keeps React's rows apart when rows move. */
export interface QuestionDraft {
  key: number;
  text: string;
  verbatim: boolean;
  ideal: string;
  minutes: string;
  seconds: string;
  follow_up: FollowUp;
}

let nextKey = 1;
export const newKey = () => nextKey++;

export function emptyQuestion(): QuestionDraft {
  return { key: newKey(), text: "", verbatim: false, ideal: "", minutes: "", seconds: "", follow_up: "open" };
}

export const FOLLOW_UP_TEXT: Record<FollowUp, string> = {
  none: "No follow-up",
  one: "One follow-up at most",
  open: "As the interviewer judges",
};

export function draftOf(q: {
  text: string;
  verbatim: boolean;
  ideal_answer: string | null;
  time_limit_s: number | null;
  follow_up: FollowUp;
}): QuestionDraft {
  const t = q.time_limit_s;
  return {
    key: newKey(),
    text: q.text,
    verbatim: q.verbatim,
    ideal: q.ideal_answer ?? "",
    minutes: t == null ? "" : String(Math.floor(t / 60)),
    seconds: t == null ? "" : String(t % 60),
    follow_up: q.follow_up,
  };
}

/** The time limit in seconds; null when both boxes are empty, NaN when they do not read as a
 * whole number of minutes and seconds. */
export function timeLimit(q: QuestionDraft): number | null {
  if (!q.minutes.trim() && !q.seconds.trim()) return null;
  const m = q.minutes.trim() ? Number(q.minutes) : 0;
  const s = q.seconds.trim() ? Number(q.seconds) : 0;
  if (!Number.isInteger(m) || !Number.isInteger(s) || m < 0 || s < 0 || s > 59) return NaN;
  return m * 60 + s;
}

export function formatLimit(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m && s ? `${m} min ${s} s` : m ? `${m} min` : `${s} s`;
}

/** The server's bounds (interview/planning.py), keyed by the field names the server uses, so
 * its 422s and these land in the same place. */
export function checkQuestion(q: QuestionDraft): Record<string, string> {
  const errors: Record<string, string> = {};
  const [min, max] = PLAN_LIMITS.questionChars;
  const text = q.text.trim();
  if (text.length < min) errors.text = `Write the question (at least ${min} characters).`;
  else if (text.length > max) errors.text = `At most ${max} characters (this one has ${text.length}).`;
  if (q.ideal.trim().length > PLAN_LIMITS.noteChars)
    errors.ideal_answer = `At most ${PLAN_LIMITS.noteChars} characters.`;
  const t = timeLimit(q);
  const [lo, hi] = PLAN_LIMITS.timeLimitSeconds;
  if (t !== null && (Number.isNaN(t) || t < lo || t > hi))
    errors.time_limit_s = `From ${formatLimit(lo)} to ${formatLimit(hi)}, or leave it empty.`;
  return errors;
}

export function toCustom(q: QuestionDraft): CustomQuestion {
  return {
    text: q.text.trim(),
    verbatim: q.verbatim,
    ideal_answer: q.ideal.trim() || null,
    time_limit_s: timeLimit(q),
    follow_up: q.follow_up,
  };
}

/** The fields of one question. `id` prefixes the inputs' ids; `errors` are by field name
 * (text, ideal_answer, time_limit_s). */
export function QuestionFields({
  id,
  q,
  onChange,
  errors,
  disabled,
}: {
  id: string;
  q: QuestionDraft;
  onChange: (q: QuestionDraft) => void;
  errors: Record<string, string>;
  disabled?: boolean;
}) {
  const set = <K extends keyof QuestionDraft>(k: K, v: QuestionDraft[K]) => onChange({ ...q, [k]: v });
  const err = (k: string) =>
    errors[k] ? (
      <p className="field-error" id={`${id}-${k}-error`} data-testid={`error-${id}-${k}`}>
        {errors[k]}
      </p>
    ) : null;
  const described = (k: string, hint?: string) => ({
    "aria-invalid": errors[k] ? true : undefined,
    "aria-describedby": errors[k] ? `${id}-${k}-error` : hint,
  });
  return (
    <div className="question-fields">
      <div className="field">
        <label htmlFor={`${id}-text`}>Question</label>
        <textarea
          id={`${id}-text`}
          rows={2}
          value={q.text}
          disabled={disabled}
          onChange={(e) => set("text", e.target.value)}
          {...described("text")}
        />
        {err("text")}
      </div>
      <div className="field check">
        <input
          id={`${id}-verbatim`}
          type="checkbox"
          checked={q.verbatim}
          disabled={disabled}
          onChange={(e) => set("verbatim", e.target.checked)}
        />
        <label htmlFor={`${id}-verbatim`}>Read verbatim</label>
      </div>
      <div className="field">
        <label htmlFor={`${id}-ideal`}>Ideal answer (optional, never shown to the candidate)</label>
        <textarea
          id={`${id}-ideal`}
          rows={2}
          value={q.ideal}
          disabled={disabled}
          onChange={(e) => set("ideal", e.target.value)}
          {...described("ideal_answer", `${id}-ideal-hint`)}
        />
        {errors.ideal_answer ? (
          err("ideal_answer")
        ) : (
          <p className="hint" id={`${id}-ideal-hint`}>
            The report scores the answer against it.
          </p>
        )}
      </div>
      <div className="question-settings">
        <fieldset className="field time-limit">
          <legend>Time limit (optional)</legend>
          <div className="row nowrap">
            <label htmlFor={`${id}-min`} className="unit">
              <input
                id={`${id}-min`}
                type="number"
                inputMode="numeric"
                min={0}
                max={15}
                value={q.minutes}
                disabled={disabled}
                onChange={(e) => set("minutes", e.target.value)}
                {...described("time_limit_s")}
              />
              <span>min</span>
            </label>
            <label htmlFor={`${id}-sec`} className="unit">
              <input
                id={`${id}-sec`}
                type="number"
                inputMode="numeric"
                min={0}
                max={59}
                value={q.seconds}
                disabled={disabled}
                onChange={(e) => set("seconds", e.target.value)}
                {...described("time_limit_s")}
              />
              <span>s</span>
            </label>
          </div>
          {err("time_limit_s")}
        </fieldset>
        <div className="field">
          <label htmlFor={`${id}-follow`}>Follow-up</label>
          <select
            id={`${id}-follow`}
            value={q.follow_up}
            disabled={disabled}
            onChange={(e) => set("follow_up", e.target.value as FollowUp)}
          >
            {(Object.keys(FOLLOW_UP_TEXT) as FollowUp[]).map((f) => (
              <option key={f} value={f}>
                {FOLLOW_UP_TEXT[f]}
              </option>
            ))}
          </select>
        </div>
      </div>
    </div>
  );
}

/** The team's own questions on the create form: asked first, in this order, at most ten.
 * `errors` are keyed as the server names them (`custom_questions[2].text`). */
export function CustomQuestions({
  items,
  onChange,
  errors,
  disabled,
}: {
  items: QuestionDraft[];
  onChange: (items: QuestionDraft[]) => void;
  errors: Record<string, string>;
  disabled?: boolean;
}) {
  const max = PLAN_LIMITS.customQuestions;
  const rowErrors = (i: number) => {
    const prefix = `custom_questions[${i}].`;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(errors)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
    return out;
  };
  const add = () => {
    const q = emptyQuestion();
    onChange([...items, q]);
    // The new row's first box, once it is drawn.
    window.setTimeout(() => document.getElementById(`cq-${q.key}-text`)?.focus(), 0);
  };
  return (
    <section className="custom-questions" data-testid="custom-questions">
      <h3 id="cq-title">Your questions</h3>
      <p className="hint">Asked first, in this order. Up to {max}; they count towards the number of questions.</p>
      {errors.custom_questions && (
        <p className="field-error" id="cq-error" data-testid="error-custom_questions">
          {errors.custom_questions}
        </p>
      )}
      <ol className="cq-list">
        {items.map((q, i) => (
          <li key={q.key}>
            <fieldset className="cq-row" aria-label={`Your question ${i + 1}`} data-testid={`custom-question-${i + 1}`}>
              <div className="row spread">
                <span className="cq-legend">Question {i + 1}</span>
                <button
                  type="button"
                  className="link"
                  disabled={disabled}
                  aria-label={`Remove your question ${i + 1}`}
                  onClick={() => onChange(items.filter((x) => x.key !== q.key))}
                >
                  Remove
                </button>
              </div>
              <QuestionFields
                id={`cq-${q.key}`}
                q={q}
                errors={rowErrors(i)}
                disabled={disabled}
                onChange={(nq) => onChange(items.map((x) => (x.key === q.key ? nq : x)))}
              />
            </fieldset>
          </li>
        ))}
      </ol>
      <button type="button" onClick={add} disabled={disabled || items.length >= max}>
        Add a question of your own
      </button>
      {items.length >= max && <p className="hint">That is the most: {max} questions.</p>}
    </section>
  );
}
