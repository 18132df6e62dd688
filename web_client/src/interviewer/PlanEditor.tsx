import { useEffect, useState } from "react";
import { PLAN_LIMITS, type DraftedBy, type PlannedQuestion, type QuestionPlan, type QuestionSource } from "../api";
import { Notice } from "../common/ui";
import {
  FOLLOW_UP_TEXT,
  QuestionFields,
  type QuestionDraft,
  checkQuestion,
  draftOf,
  emptyQuestion,
  formatLimit,
  newKey,
  toCustom,
} from "./CustomQuestions";

/** A plan as the page edits it: each question with a key that follows it when it moves. */
export interface EditablePlan {
  items: { key: number; q: PlannedQuestion }[];
  role_summary: string;
  candidate_summary: string;
}

export function editable(plan: QuestionPlan): EditablePlan {
  return {
    items: plan.questions.map((q) => ({ key: newKey(), q })),
    role_summary: plan.role_summary,
    candidate_summary: plan.candidate_summary,
  };
}

export function planOf(p: EditablePlan): QuestionPlan {
  return {
    questions: p.items.map((i) => i.q),
    role_summary: p.role_summary.trim(),
    candidate_summary: p.candidate_summary.trim(),
  };
}

/** A question the team adds or writes: the same fields as a custom question on the form. */
export function plannedFrom(d: QuestionDraft, base?: PlannedQuestion): PlannedQuestion {
  const c = toCustom(d);
  return {
    source: "custom",
    bank_question_id: null,
    topic: "general",
    difficulty: 3,
    strong_answer: null,
    rationale: null,
    ...base,
    text: c.text,
    verbatim: c.verbatim,
    ideal_answer: c.ideal_answer,
    time_limit_s: c.time_limit_s,
    follow_up: c.follow_up,
  };
}

export const SOURCE_TEXT: Record<QuestionSource, string> = {
  custom: "Your question",
  bank: "From the bank",
  generated: "Written for this candidate",
};

const DRAFTED_TEXT: Record<DraftedBy, string> = {
  model: "Drafted by the text model from the job description, the résumé and your questions.",
  offline:
    "Drafted offline (the local planner): questions on the skills the job description and the résumé name, from the bank where one fits.",
  manual: "Your questions only: the planner did not answer. Add the questions you want asked.",
};

/** The drafted plan: reorder (buttons, so the keyboard can), edit, remove and add questions,
 * adjust the two summaries, then confirm. `errors` are keyed as the server names them
 * (`question_plan.questions[2].text`). */
export function PlanEditor({
  plan,
  onChange,
  draftedBy,
  warnings,
  chosenCount,
  minutes,
  errors,
  busy,
  formError,
  onConfirm,
  onBack,
}: {
  plan: EditablePlan;
  onChange: (p: EditablePlan) => void;
  draftedBy: DraftedBy;
  warnings: string[];
  chosenCount: number;
  minutes: number;
  errors: Record<string, string>;
  busy: boolean;
  formError: string | null;
  onConfirm: () => void;
  onBack: () => void;
}) {
  const [editing, setEditing] = useState<{ key: number; draft: QuestionDraft; errors: Record<string, string> } | null>(
    null,
  );
  const [adding, setAdding] = useState<{ draft: QuestionDraft; errors: Record<string, string> } | null>(null);
  const [focus, setFocus] = useState<string | null>(null);
  const [said, setSaid] = useState("");
  const items = plan.items;
  const full = items.length >= PLAN_LIMITS.planQuestions;

  // Keyboard users keep their place: after a move the focus follows the moved question.
  useEffect(() => {
    if (!focus) return;
    const el = document.getElementById(focus) as HTMLButtonElement | null;
    if (el && !el.disabled) el.focus();
    else document.getElementById(focus.replace(/-(up|down)$/, (_m, d) => (d === "up" ? "-down" : "-up")))?.focus();
    setFocus(null);
  }, [focus]);

  const setItems = (next: EditablePlan["items"]) => onChange({ ...plan, items: next });

  const move = (i: number, by: -1 | 1) => {
    const j = i + by;
    if (j < 0 || j >= items.length) return;
    const next = [...items];
    [next[i], next[j]] = [next[j], next[i]];
    setItems(next);
    setFocus(`pi-${items[i].key}-${by < 0 ? "up" : "down"}`);
    setSaid(`Question moved to position ${j + 1} of ${items.length}.`);
  };

  const remove = (i: number) => {
    const next = items.filter((_, k) => k !== i);
    setItems(next);
    const after = next[Math.min(i, next.length - 1)];
    setFocus(after ? `pi-${after.key}-edit` : "plan-add");
    setSaid(`Question removed; the plan has ${next.length}.`);
  };

  const saveEdit = () => {
    if (!editing) return;
    const found = checkQuestion(editing.draft);
    if (Object.keys(found).length) return setEditing({ ...editing, errors: found });
    setItems(items.map((it) => (it.key === editing.key ? { ...it, q: plannedFrom(editing.draft, it.q) } : it)));
    setFocus(`pi-${editing.key}-edit`);
    setEditing(null);
  };

  const saveAdd = () => {
    if (!adding) return;
    const found = checkQuestion(adding.draft);
    if (Object.keys(found).length) return setAdding({ ...adding, errors: found });
    const key = newKey();
    setItems([...items, { key, q: plannedFrom(adding.draft) }]);
    setAdding(null);
    setFocus(`pi-${key}-edit`);
    setSaid(`Question added at position ${items.length + 1}.`);
  };

  const itemError = (i: number) =>
    Object.entries(errors).find(([k]) => k.startsWith(`question_plan.questions[${i}]`))?.[1];

  const summary = (k: "role_summary" | "candidate_summary", label: string) => {
    const value = plan[k];
    const over = value.trim().length > PLAN_LIMITS.summaryChars;
    const error = errors[`question_plan.${k}`] ?? (over ? `At most ${PLAN_LIMITS.summaryChars} characters.` : null);
    return (
      <div className="field">
        <label htmlFor={`plan-${k}`}>{label}</label>
        <textarea
          id={`plan-${k}`}
          rows={3}
          value={value}
          onChange={(e) => onChange({ ...plan, [k]: e.target.value })}
          aria-invalid={error ? true : undefined}
          aria-describedby={`plan-${k}-count`}
        />
        <p className="hint counter" id={`plan-${k}-count`}>
          {value.trim().length} / {PLAN_LIMITS.summaryChars} characters · the interviewer reads this, never the documents
        </p>
        {error && (
          <p className="field-error" data-testid={`error-plan-${k}`}>
            {error}
          </p>
        )}
      </div>
    );
  };

  return (
    <section className="plan-editor" aria-labelledby="plan-title" data-testid="plan-editor">
      <h3 id="plan-title" tabIndex={-1}>
        The plan
      </h3>
      <p className="muted small" data-testid="plan-drafted-by" data-drafted-by={draftedBy}>
        {DRAFTED_TEXT[draftedBy]}
      </p>
      {warnings.length > 0 && (
        <Notice tone="warning" title="Note" testId="plan-warnings">
          {warnings.map((w) => (
            <p key={w}>{w}</p>
          ))}
        </Notice>
      )}
      <div className="plan-summaries">
        {summary("role_summary", "The role, in short")}
        {summary("candidate_summary", "The candidate, in short")}
      </div>
      <p className="plan-count" data-testid="plan-count">
        <strong>{items.length}</strong> {items.length === 1 ? "question" : "questions"} in {minutes} minutes
        {items.length !== chosenCount && (
          <span className="muted"> · you chose {chosenCount}; the interview asks the {items.length} below</span>
        )}
      </p>
      {errors["question_plan.questions"] && (
        <p className="field-error" data-testid="error-plan-questions">
          {errors["question_plan.questions"]}
        </p>
      )}
      <ol className="plan-list" aria-label="Questions in the order they are asked">
        {items.map(({ key, q }, i) => {
          const edit = editing?.key === key ? editing : null;
          const err = itemError(i);
          return (
            <li key={key} className="plan-item" data-testid="plan-item" data-source={q.source}>
              <div className="plan-head">
                <span className="plan-pos" aria-hidden="true">
                  {i + 1}
                </span>
                <span className={`badge source-${q.source}`} data-testid="plan-source">
                  {SOURCE_TEXT[q.source]}
                </span>
                {q.topic && q.topic !== "general" && <span className="q-topic">{q.topic}</span>}
                {q.verbatim && <span className="badge">Read verbatim</span>}
                {q.time_limit_s != null && <span className="badge">{formatLimit(q.time_limit_s)}</span>}
                <span className="badge follow" title="Follow-up">
                  {FOLLOW_UP_TEXT[q.follow_up]}
                </span>
              </div>
              {edit ? (
                <div className="plan-edit">
                  <QuestionFields
                    id={`pq-${key}`}
                    q={edit.draft}
                    errors={edit.errors}
                    onChange={(d) => setEditing({ ...edit, draft: d })}
                  />
                  <div className="row">
                    <button type="button" className="primary" onClick={saveEdit}>
                      Save question {i + 1}
                    </button>
                    <button type="button" onClick={() => (setEditing(null), setFocus(`pi-${key}-edit`))}>
                      Cancel
                    </button>
                  </div>
                </div>
              ) : (
                <p className="plan-text">
                  <span className="visually-hidden">Question {i + 1}: </span>
                  <span data-testid="plan-text">{q.text}</span>
                </p>
              )}
              {q.rationale && <p className="hint plan-why">Why: {q.rationale}</p>}
              {q.ideal_answer && !edit && <p className="hint">Ideal answer given (hidden from the candidate).</p>}
              {err && (
                <p className="field-error" data-testid={`error-plan-item-${i + 1}`}>
                  {err}
                </p>
              )}
              {!edit && (
                <div className="row plan-actions">
                  <button
                    type="button"
                    id={`pi-${key}-up`}
                    disabled={i === 0 || busy}
                    aria-label={`Move question ${i + 1} up`}
                    onClick={() => move(i, -1)}
                  >
                    ↑ Up
                  </button>
                  <button
                    type="button"
                    id={`pi-${key}-down`}
                    disabled={i === items.length - 1 || busy}
                    aria-label={`Move question ${i + 1} down`}
                    onClick={() => move(i, 1)}
                  >
                    ↓ Down
                  </button>
                  <button
                    type="button"
                    id={`pi-${key}-edit`}
                    disabled={busy}
                    aria-label={`Edit question ${i + 1}`}
                    onClick={() => setEditing({ key, draft: draftOf(q), errors: {} })}
                  >
                    Edit
                  </button>
                  <button
                    type="button"
                    disabled={items.length <= 1 || busy}
                    aria-label={`Remove question ${i + 1}`}
                    onClick={() => remove(i)}
                  >
                    Remove
                  </button>
                </div>
              )}
            </li>
          );
        })}
      </ol>
      {adding ? (
        <fieldset className="plan-add" aria-label="New question" data-testid="plan-add">
          <QuestionFields
            id="pq-new"
            q={adding.draft}
            errors={adding.errors}
            onChange={(d) => setAdding({ ...adding, draft: d })}
          />
          <div className="row">
            <button type="button" className="primary" onClick={saveAdd}>
              Add to the plan
            </button>
            <button type="button" onClick={() => (setAdding(null), setFocus("plan-add"))}>
              Cancel
            </button>
          </div>
        </fieldset>
      ) : (
        <button
          type="button"
          id="plan-add"
          disabled={full || busy}
          onClick={() => {
            setAdding({ draft: emptyQuestion(), errors: {} });
            setFocus("pq-new-text");
          }}
        >
          Add a question
        </button>
      )}
      {full && <p className="hint">A plan holds at most {PLAN_LIMITS.planQuestions} questions.</p>}
      <div className="row plan-confirm">
        <button
          type="button"
          className="primary"
          disabled={busy || !!editing || !!adding || items.length === 0}
          onClick={onConfirm}
        >
          {busy ? "Creating…" : "Confirm and create invite"}
        </button>
        <button type="button" className="secondary" disabled={busy} onClick={onBack}>
          Discard the plan
        </button>
        {(editing || adding) && <p className="hint">Save or cancel the open question first.</p>}
        {items.length === 0 && !adding && <p className="hint">Add at least one question.</p>}
        {formError && (
          <p className="field-error" role="alert" data-testid="plan-error">
            {formError}
          </p>
        )}
      </div>
      <p role="status" className="visually-hidden">
        {said}
      </p>
    </section>
  );
}
