import { useEffect, useState } from "react";
import { ApiError, api, type CandidateFeedback, type CandidateJoin } from "../api";
import { Notice } from "../common/ui";

const POLL_MS = 2000;
// The interviewer's last writes reach the store a moment after the room closes.
const WAIT_FOR_END_MS = 90_000;
const WAIT_FOR_BULLETS_MS = 20_000;

type FeedbackState =
  | { kind: "waiting" }
  | { kind: "ready"; feedback: CandidateFeedback }
  | { kind: "none" }
  | { kind: "failed"; message: string };

/** After the interview: practice candidates get their feedback (words only, never scores);
 * screening candidates get a thank-you. */
export function EndScreen({ session, secret }: { session: CandidateJoin; secret: string }) {
  const practice = session.interview.mode === "practice";
  return (
    <section className="card end" aria-labelledby="end-heading" data-testid="end-screen">
      <h1 id="end-heading">Thank you, {session.interview.candidate_name}</h1>
      {practice ? (
        <PracticeFeedback secret={secret} />
      ) : (
        <p>
          Your interview for <strong>{session.interview.role}</strong> is complete. The hiring team will
          review it and get back to you. You can close this page.
        </p>
      )}
    </section>
  );
}

function PracticeFeedback({ secret }: { secret: string }) {
  const [state, setState] = useState<FeedbackState>({ kind: "waiting" });
  useEffect(() => {
    let stop = false;
    let timer = 0;
    const started = Date.now();
    const attempt = async () => {
      try {
        const fb = await api.feedback(secret);
        const any = fb.final.length > 0 || fb.by_question.length > 0;
        if (any) return setState({ kind: "ready", feedback: fb });
        if (Date.now() - started > WAIT_FOR_BULLETS_MS) return setState({ kind: "none" });
      } catch (err) {
        const e = err as ApiError;
        const retriable = e.code === "interview_not_ended" || e.code === "unreachable" || e.status === 503;
        if (!retriable || Date.now() - started > WAIT_FOR_END_MS)
          return setState({ kind: "failed", message: e.message });
      }
      if (!stop) timer = window.setTimeout(() => void attempt(), POLL_MS);
    };
    void attempt();
    return () => {
      stop = true;
      window.clearTimeout(timer);
    };
  }, [secret]);

  if (state.kind === "waiting")
    return (
      <p className="muted" role="status">
        Your practice interview is over. Preparing your feedback…
      </p>
    );
  if (state.kind === "none") return <p>Your practice interview is over. No feedback was recorded this time.</p>;
  if (state.kind === "failed")
    return (
      <Notice tone="warning" title="Feedback is not available">
        <p>{state.message}</p>
      </Notice>
    );
  const { final, by_question } = state.feedback;
  return (
    <div className="feedback" data-testid="feedback">
      <p>Your practice interview is over. Here is what the interviewer noted.</p>
      {final.length > 0 && (
        <>
          <h2 className="section-title">Overall</h2>
          <ul>
            {final.map((b, i) => (
              <li key={i}>{b}</li>
            ))}
          </ul>
        </>
      )}
      {by_question.map((q) => (
        <div key={q.ordinal}>
          <h2 className="section-title">Question {q.ordinal}</h2>
          <ul>
            {q.bullets.map((b, i) => (
              <li key={i}>{b}</li>
            ))}
          </ul>
        </div>
      ))}
    </div>
  );
}
