import { type FormEvent, useCallback, useEffect, useState } from "react";
import { ApiError } from "../api";
import { Notice } from "../common/ui";
import {
  DECISION_TEXT,
  RECOMMENDATION_TEXT,
  RUBRICS,
  clock,
  downloadMarkdown,
  duration,
  reportApi,
  rubricLabel,
  usd,
  wholeTranscript,
  type Decision,
  type Report,
  type ReportQuestion,
  type Rubric,
  type Score,
  type TranscriptItem,
} from "../reportApi";
import { ScoreChart } from "./ScoreChart";

const POLL_MS = 2000;
const DECISIONS: Decision[] = ["advance", "hold", "reject"];

/** The hiring team's report on one interview: the evaluation (scores with reasons and quoted
 * evidence), the live scores beside it, the transcript, and the reviewer's overrides, notes and
 * decision. Prints as a clean document (the PDF export). */
export function ReportPage({ apiKey, id, signOut }: { apiKey: string; id: string; signOut: () => void }) {
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<{ status: number; message: string } | null>(null);
  const [transcript, setTranscript] = useState<TranscriptItem[] | null>(null);
  const [transcriptError, setTranscriptError] = useState<string | null>(null);
  const [highlight, setHighlight] = useState<{ id: number; quote: string } | null>(null);

  const fail = useCallback(
    (err: unknown) => {
      const e = err as ApiError;
      if (e.status === 401) signOut();
      return e;
    },
    [signOut],
  );

  // The report, polled while the evaluation has not settled; a review's answer sets it directly.
  const state = report?.evaluation.state;
  const status = report?.interview.status;
  const settled = state !== undefined && !unsettled(state);
  useEffect(() => {
    if (settled) return;
    const abort = new AbortController();
    let timer: number | undefined;
    const load = async () => {
      try {
        const got = await reportApi.report(apiKey, id, abort.signal);
        setReport(got);
        setError(null);
        if (unsettled(got.evaluation.state)) timer = window.setTimeout(() => void load(), POLL_MS);
      } catch (err) {
        if (abort.signal.aborted) return;
        const e = fail(err);
        setError({ status: e.status, message: e.message });
        if (e.status !== 404 && e.status !== 401) timer = window.setTimeout(() => void load(), POLL_MS * 2);
      }
    };
    void load();
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [apiKey, id, fail, settled]);

  // The stored transcript: read again when the interview or its evaluation moves on.
  useEffect(() => {
    if (!status) return;
    const abort = new AbortController();
    wholeTranscript(apiKey, id, abort.signal).then(
      (items) => {
        setTranscript(items);
        setTranscriptError(null);
      },
      (err: unknown) => {
        if (abort.signal.aborted) return;
        setTranscriptError(fail(err).message);
      },
    );
    return () => abort.abort();
  }, [apiKey, id, status, state, fail]);

  // The title names the printed PDF (Chromium writes it into the document's metadata).
  const title = report ? `Interview report: ${report.interview.candidate_name} · ${report.interview.role}` : null;
  useEffect(() => {
    if (!title) return;
    const before = document.title;
    document.title = title;
    return () => {
      document.title = before;
    };
  }, [title]);

  const showQuote = useCallback((messageId: number, quote: string) => {
    setHighlight({ id: messageId, quote });
    const el = document.getElementById(`msg-${messageId}`);
    if (el) {
      el.scrollIntoView({ block: "center", behavior: "smooth" });
      el.focus({ preventScroll: true });
    }
  }, []);

  if (error && !report)
    return (
      <main className="page wide report">
        <BackLink />
        <Notice tone="error" title={error.status === 404 ? "No such interview" : "The report could not be loaded"}>
          <p>{error.message}</p>
        </Notice>
      </main>
    );
  if (!report)
    return (
      <main className="page wide report">
        <BackLink />
        <p className="muted" role="status">
          Loading the report…
        </p>
      </main>
    );

  const iv = report.interview;
  const ev = report.evaluation;
  const filename = `report-${slug(iv.candidate_name)}-${iv.created_at.slice(0, 10)}.md`;
  return (
    <main className="page wide report" data-testid="report" data-evaluation={ev.state}>
      <header className="topbar">
        <div>
          <BackLink />
          <p className="eyebrow print-only">Interview report</p>
          <h1 data-testid="report-title">
            {iv.candidate_name} · {iv.role}
          </h1>
        </div>
        <div className="row no-print actions">
          <button type="button" className="secondary" onClick={() => window.print()}>
            Print / Download PDF
          </button>
          <MarkdownButton apiKey={apiKey} id={id} filename={filename} />
          <a className="button-link secondary" href={`/observe/${id}`}>
            Observer view
          </a>
        </div>
      </header>
      {error && (
        <Notice tone="warning" title="Updates paused">
          <p>{error.message}</p>
        </Notice>
      )}
      <EvaluationNotice report={report} />

      <section className="card" aria-labelledby="overview-title" data-testid="report-header">
        <h2 id="overview-title" className="visually-hidden">
          Overview
        </h2>
        <div className="verdict">
          <div>
            <span className="verdict-label">Recommendation</span>
            <span
              className={`badge rec-${ev.recommendation ?? "none"}`}
              data-testid="recommendation"
              data-value={ev.recommendation ?? ""}
            >
              {ev.recommendation ? RECOMMENDATION_TEXT[ev.recommendation] : ev.state === "done" ? "None" : "Not yet"}
            </span>
          </div>
          <div>
            <span className="verdict-label">Decision</span>
            <span
              className={`badge decision-${report.review.decision?.value ?? "none"}`}
              data-testid="decision"
              data-value={report.review.decision?.value ?? ""}
            >
              {report.review.decision ? DECISION_TEXT[report.review.decision.value] : "Not decided"}
            </span>
            {report.review.decision && (
              <span className="muted small">
                {" "}
                by {report.review.decision.reviewer}, {when(report.review.decision.at)}
              </span>
            )}
          </div>
        </div>
        <dl className="facts">
          <Fact term="Candidate" value={iv.candidate_name} />
          <Fact term="Role" value={iv.role} />
          <Fact term="Level" value={iv.level} />
          <Fact term="Type" value={iv.type} />
          <Fact term="Mode" value={iv.mode} />
          <Fact term="Date" value={when(iv.started_at ?? iv.created_at)} />
          <Fact term="Duration" value={duration(iv.duration_s)} />
          <Fact term="Questions" value={`${iv.questions_asked} of ${iv.questions_planned} asked`} testId="questions-asked" />
          <Fact term="Status" value={iv.status} />
        </dl>
      </section>

      {ev.state === "done" && report.questions.some((q) => RUBRICS.some((r) => q.scores[r])) && (
        <section className="card avoid-break" aria-labelledby="chart-title">
          <h2 id="chart-title">Scores per question</h2>
          <p className="hint">The evaluation’s scores, 1 to 5, with reviewer overrides applied; overall is the mean.</p>
          <ScoreChart report={report} />
          <OverallTable report={report} />
        </section>
      )}

      {(ev.strengths.length > 0 || ev.concerns.length > 0 || iv.summary) && (
        <section className="card" aria-labelledby="findings-title">
          <h2 id="findings-title">Findings</h2>
          <div className="findings">
            {ev.strengths.length > 0 && (
              <div>
                <h3>Strengths</h3>
                <ul className="bullets" data-testid="strengths">
                  {ev.strengths.map((s, i) => (
                    <li key={i}>{s}</li>
                  ))}
                </ul>
              </div>
            )}
            {ev.concerns.length > 0 && (
              <div>
                <h3>Concerns</h3>
                <ul className="bullets" data-testid="concerns">
                  {ev.concerns.map((s, i) => (
                    <li key={i}>{s}</li>
                  ))}
                </ul>
              </div>
            )}
          </div>
          {iv.summary && (
            <>
              <h3>Interviewer’s summary</h3>
              <p data-testid="summary">{iv.summary}</p>
            </>
          )}
        </section>
      )}

      <section className="card" aria-labelledby="questions-title">
        <h2 id="questions-title">Questions</h2>
        <p className="hint">
          <strong>Evaluation</strong>: scored after the interview from the transcript, with quoted evidence.{" "}
          <strong>Live</strong>: the interviewer’s scores during the conversation (the observers’ running view).
        </p>
        {report.questions.length === 0 && <p className="muted">No question was asked.</p>}
        <ol className="report-questions">
          {report.questions.map((q) => (
            <QuestionBlock
              key={q.ordinal}
              q={q}
              evaluated={ev.state === "done"}
              apiKey={apiKey}
              id={id}
              onReport={setReport}
              onQuote={showQuote}
              onError={fail}
            />
          ))}
        </ol>
      </section>

      <ReviewCard report={report} apiKey={apiKey} id={id} onReport={setReport} onError={fail} />

      <section className="card" aria-labelledby="report-transcript-title">
        <h2 id="report-transcript-title">Transcript</h2>
        {transcriptError && (
          <Notice tone="error" title="The transcript could not be loaded">
            <p>{transcriptError}</p>
          </Notice>
        )}
        {transcript === null && !transcriptError && <p className="muted">Loading the transcript…</p>}
        {transcript !== null && (
          <StoredTranscript items={transcript} candidateLabel={iv.candidate_name} highlight={highlight} />
        )}
      </section>

      <section className="card avoid-break" aria-labelledby="cost-title" data-testid="cost">
        <h2 id="cost-title">Cost</h2>
        <dl className="facts">
          <Fact term="Interview (realtime model)" value={usd(report.cost.interview_usd)} />
          <Fact term="Evaluation (text model)" value={usd(report.cost.evaluation_usd ?? ev.cost_usd)} />
          <Fact term="Evaluation model" value={ev.model ?? "–"} />
          <Fact term="Attempts" value={String(ev.attempts)} />
        </dl>
      </section>
    </main>
  );
}

function BackLink() {
  return (
    <p className="eyebrow no-print">
      <a href="/interviewer">← All interviews</a>
    </p>
  );
}

function Fact({ term, value, testId }: { term: string; value: string; testId?: string }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd data-testid={testId}>{value}</dd>
    </div>
  );
}

function EvaluationNotice({ report }: { report: Report }) {
  const ev = report.evaluation;
  const testId = "evaluation-state";
  if (ev.state === "pending" || ev.state === "running")
    return (
      <Notice tone="info" title="The evaluation is not ready yet" testId={testId} code={ev.state}>
        <p>
          {ev.state === "pending"
            ? "The interview is waiting for its evaluation."
            : `The evaluation is running${ev.attempts > 1 ? ` (attempt ${ev.attempts})` : ""}.`}{" "}
          Scores, evidence and the recommendation appear here when it is done; this page updates by itself.
        </p>
      </Notice>
    );
  if (ev.state === "failed")
    return (
      <Notice tone="error" title="The evaluation failed" testId={testId} code={ev.state}>
        <p>
          It could not be completed after {ev.attempts} attempt{ev.attempts === 1 ? "" : "s"}. The live scores and
          the transcript below are still shown; there is no recommendation.
        </p>
      </Notice>
    );
  if (ev.state === "not_applicable")
    return (
      <Notice tone="info" title="Nothing to evaluate" testId={testId} code={ev.state}>
        <p>The candidate gave no answers, so there is no evaluation and no recommendation.</p>
      </Notice>
    );
  return null;
}

function OverallTable({ report }: { report: Report }) {
  return (
    <table className="score-table overall-table" data-testid="overall">
      <caption className="visually-hidden">Overall scores</caption>
      <thead>
        <tr>
          {RUBRICS.map((r) => (
            <th key={r} scope="col">
              {rubricLabel(r)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        <tr>
          {RUBRICS.map((r) => (
            <td key={r} data-rubric={r}>
              {report.overall[r] === null ? "–" : report.overall[r]!.toFixed(2)}
            </td>
          ))}
        </tr>
      </tbody>
    </table>
  );
}

function QuestionBlock({
  q,
  evaluated,
  apiKey,
  id,
  onReport,
  onQuote,
  onError,
}: {
  q: ReportQuestion;
  evaluated: boolean;
  apiKey: string;
  id: string;
  onReport: (r: Report) => void;
  onQuote: (messageId: number, quote: string) => void;
  onError: (err: unknown) => ApiError;
}) {
  return (
    <li className="report-question avoid-break" data-testid={`report-question-${q.ordinal}`}>
      <p className="q-text">
        <span className="q-topic">{q.topic}</span> {q.text}
      </p>
      <p className="small">
        Outcome:{" "}
        <span className={`badge outcome outcome-${q.outcome}`} data-testid={`outcome-${q.ordinal}`}>
          {String(q.outcome).replace("_", " ")}
        </span>
      </p>
      {evaluated && (
        <ul className="rubric-list" aria-label={`Scores for question ${q.ordinal}`}>
          {RUBRICS.map((r) => (
            <RubricRow
              key={r}
              ordinal={q.ordinal}
              rubric={r}
              score={q.scores[r]}
              live={q.live_scores?.[r] ?? null}
              apiKey={apiKey}
              id={id}
              onReport={onReport}
              onError={onError}
            />
          ))}
        </ul>
      )}
      {!evaluated && q.live_scores && (
        <p className="small" data-testid={`live-scores-${q.ordinal}`}>
          <span className="badge live-label">Live scores</span>{" "}
          {RUBRICS.map((r) => `${rubricLabel(r)} ${q.live_scores![r]}`).join(" · ")}
        </p>
      )}
      {q.evidence.length > 0 && (
        <div className="evidence">
          <h3 className="section-title">Evidence</h3>
          <ul>
            {q.evidence.map((e) => (
              <li key={e.message_id + e.quote}>
                <button
                  type="button"
                  className="quote"
                  onClick={() => onQuote(e.message_id, e.quote)}
                  data-testid="quote"
                  data-message-id={e.message_id}
                  title="Show in the transcript"
                >
                  <span className="quote-time">{clock(e.at_s)}</span> “{e.quote}”
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
      {q.feedback.length > 0 && (
        <ul className="bullets small">
          {q.feedback.map((f, i) => (
            <li key={i}>{f}</li>
          ))}
        </ul>
      )}
    </li>
  );
}

function RubricRow({
  ordinal,
  rubric,
  score,
  live,
  apiKey,
  id,
  onReport,
  onError,
}: {
  ordinal: number;
  rubric: Rubric;
  score: Score | null;
  live: number | null;
  apiKey: string;
  id: string;
  onReport: (r: Report) => void;
  onError: (err: unknown) => ApiError;
}) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState("");
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const testId = `score-${ordinal}-${rubric}`;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const v = Number(value);
    if (!Number.isInteger(v) || v < 1 || v > 5) return setProblem("Choose a score from 1 to 5.");
    if (!reason.trim()) return setProblem("Give a reason for the override.");
    if (reason.trim().length > 500) return setProblem("At most 500 characters.");
    setBusy(true);
    try {
      onReport(await reportApi.overrideScore(apiKey, id, ordinal, rubric, v, reason.trim()));
      setEditing(false);
      setProblem(null);
    } catch (err) {
      setProblem(onError(err).message);
    } finally {
      setBusy(false);
    }
  };
  const clear = async () => {
    setBusy(true);
    try {
      onReport(await reportApi.clearOverride(apiKey, id, ordinal, rubric));
      setProblem(null);
    } catch (err) {
      setProblem(onError(err).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <li className="rubric" data-testid={testId} data-effective={score?.effective ?? ""}>
      <span className="rubric-name">{rubricLabel(rubric)}</span>
      <span className="rubric-value">
        {score ? (
          score.override ? (
            <>
              <strong data-testid={`${testId}-effective`}>{score.override.value}</strong>
              <span className="muted small" data-testid={`${testId}-model`}>
                {" "}
                (model: <s>{score.value}</s>)
              </span>
            </>
          ) : (
            <strong data-testid={`${testId}-effective`}>{score.value}</strong>
          )
        ) : (
          <span className="muted">not scored</span>
        )}
        {live !== null && (
          <span className="live-value small" title="The interviewer’s score during the conversation">
            {" "}
            live {live}
          </span>
        )}
      </span>
      <span className="rubric-reason small">
        {score && !score.supported && (
          <span className="badge unsupported" data-testid={`${testId}-unsupported`}>
            unsupported
          </span>
        )}{" "}
        {score?.reason}
        {score?.override && (
          <span className="override-note" data-testid={`${testId}-override`}>
            Override by {score.override.reviewer}, {when(score.override.at)}: {score.override.reason}
          </span>
        )}
      </span>
      {score && (
        <span className="rubric-actions no-print">
          {!editing && (
            <button
              type="button"
              className="link"
              onClick={() => {
                setEditing(true);
                setValue(String(score.effective));
                setReason("");
              }}
              aria-label={`Override ${rubricLabel(rubric)} for question ${ordinal}`}
            >
              Override
            </button>
          )}
          {score.override && !editing && (
            <button
              type="button"
              className="link"
              disabled={busy}
              onClick={() => void clear()}
              aria-label={`Remove the override of ${rubricLabel(rubric)} for question ${ordinal}`}
            >
              Remove override
            </button>
          )}
        </span>
      )}
      {editing && (
        <form
          className="override-form no-print"
          onSubmit={(e) => void save(e)}
          aria-label={`Override ${rubricLabel(rubric)} for question ${ordinal}`}
          noValidate
        >
          <label>
            Score
            <select value={value} onChange={(e) => setValue(e.target.value)}>
              {[1, 2, 3, 4, 5].map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </label>
          <label className="grow">
            Reason
            <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
          </label>
          <div className="row">
            <button type="submit" className="primary" disabled={busy}>
              Save override
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {problem && (
        <p className="field-error" role="alert">
          {problem}
        </p>
      )}
    </li>
  );
}

function ReviewCard({
  report,
  apiKey,
  id,
  onReport,
  onError,
}: {
  report: Report;
  apiKey: string;
  id: string;
  onReport: (r: Report) => void;
  onError: (err: unknown) => ApiError;
}) {
  const [note, setNote] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const current = report.review.decision?.value ?? null;

  const run = async (call: () => Promise<Report>, after?: () => void) => {
    setBusy(true);
    try {
      onReport(await call());
      setProblem(null);
      after?.();
    } catch (err) {
      setProblem(onError(err).message);
    } finally {
      setBusy(false);
    }
  };
  const addNote = (e: FormEvent) => {
    e.preventDefault();
    const text = note.trim();
    if (!text) return setProblem("Write the note first.");
    if (text.length > 2000) return setProblem("At most 2000 characters.");
    void run(
      () => reportApi.addNote(apiKey, id, text),
      () => setNote(""),
    );
  };

  return (
    <section className="card" aria-labelledby="review-title" data-testid="review">
      <h2 id="review-title">Review</h2>
      <h3>Decision</h3>
      <div className="row decision-buttons no-print" role="group" aria-label="Decision">
        {DECISIONS.map((d) => (
          <button
            key={d}
            type="button"
            className={`decision-button decision-${d}`}
            aria-pressed={current === d}
            disabled={busy}
            onClick={() => void run(() => reportApi.decide(apiKey, id, d))}
          >
            {DECISION_TEXT[d]}
          </button>
        ))}
      </div>
      <p className="print-only">{current ? DECISION_TEXT[current] : "Not decided"}</p>
      <h3>Notes</h3>
      {report.review.notes.length === 0 ? (
        <p className="muted">No notes yet.</p>
      ) : (
        <ul className="notes" data-testid="notes">
          {report.review.notes.map((n, i) => (
            <li key={i}>
              <p>{n.text}</p>
              <p className="muted small">
                {n.reviewer}, {when(n.at)}
              </p>
            </li>
          ))}
        </ul>
      )}
      <form className="no-print" onSubmit={addNote} noValidate>
        <div className="field">
          <label htmlFor="note">Add a note</label>
          <textarea id="note" rows={3} maxLength={2000} value={note} onChange={(e) => setNote(e.target.value)} />
        </div>
        <button type="submit" className="secondary" disabled={busy}>
          Add note
        </button>
      </form>
      {problem && (
        <p className="field-error" role="alert">
          {problem}
        </p>
      )}
      {report.review.history.length > 0 && (
        <details className="history" data-testid="history">
          <summary>Changes ({report.review.history.length})</summary>
          <ul>
            {report.review.history.map((h, i) => (
              <li key={i} className="small">
                <span className="muted">{when(h.at)}</span> · {h.reviewer} · {h.kind}: {h.detail}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

/** The stored transcript (the record, not the room), each message addressable by its id so a
 * quote can point at it. */
export function StoredTranscript({
  items,
  candidateLabel,
  highlight = null,
}: {
  items: TranscriptItem[];
  candidateLabel: string;
  highlight?: { id: number; quote: string } | null;
}) {
  return (
    <ol className="stored-transcript" data-testid="stored-transcript">
      {items.length === 0 && <li className="muted">Nothing was said.</li>}
      {items.map((m) => {
        const lit = highlight?.id === m.id;
        return (
          <li
            key={m.id}
            id={`msg-${m.id}`}
            tabIndex={-1}
            className={`line line-${m.speaker}${lit ? " highlighted" : ""}`}
            data-speaker={m.speaker}
            data-message-id={m.id}
            data-highlighted={lit ? "true" : undefined}
          >
            <span className="speaker">
              {m.speaker === "interviewer" ? "Interviewer" : candidateLabel}{" "}
              <time className="muted">{clock(m.at_s)}</time>
              {m.interrupted && <span className="muted"> · interrupted</span>}
            </span>
            <span className="words">{lit && highlight ? marked(m.text, highlight.quote) : m.text}</span>
          </li>
        );
      })}
    </ol>
  );
}

function marked(text: string, quote: string) {
  const at = text.toLowerCase().indexOf(quote.toLowerCase());
  if (at < 0) return text;
  return (
    <>
      {text.slice(0, at)}
      <mark>{text.slice(at, at + quote.length)}</mark>
      {text.slice(at + quote.length)}
    </>
  );
}

function MarkdownButton({ apiKey, id, filename }: { apiKey: string; id: string; filename: string }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <>
      <button
        type="button"
        className="secondary"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          downloadMarkdown(apiKey, id, filename)
            .then(() => setProblem(null))
            .catch((err: unknown) => setProblem((err as Error).message))
            .finally(() => setBusy(false));
        }}
      >
        Download Markdown
      </button>
      {problem && (
        <span className="field-error" role="alert">
          {problem}
        </span>
      )}
    </>
  );
}

function unsettled(state: string): boolean {
  return state === "pending" || state === "running";
}

function when(iso: string | null): string {
  if (!iso) return "–";
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function slug(s: string): string {
  return (
    s
      .normalize("NFKD")
      .replace(/[^\w\s-]/g, "")
      .trim()
      .replace(/\s+/g, "-")
      .toLowerCase() || "interview"
  );
}
