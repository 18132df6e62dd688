import { BarVisualizer, useVoiceAssistant } from "@livekit/components-react";
import { useEffect, useState } from "react";

const STATE_TEXT: Record<string, string> = {
  listening: "Listening",
  thinking: "Thinking",
  speaking: "Speaking",
  initializing: "Getting ready",
  idle: "Waiting",
  connecting: "Connecting",
  disconnected: "Not here yet",
  "pre-connect-buffering": "Getting ready",
  failed: "Unavailable",
};

/** The interviewer's state (from `lk.agent.state`) with its voice as bars; `absent` is what
 * it says while no interviewer is in the room, and `still` stops the bars' "connecting"
 * animation then (nothing is on its way). */
export function AgentStatus({
  subject = "The interviewer",
  absent = "Waiting for the interviewer to join",
  still = false,
}: {
  subject?: string;
  absent?: string;
  still?: boolean;
}) {
  const { state, audioTrack, agent } = useVoiceAssistant();
  const label = agent ? (STATE_TEXT[state] ?? state) : absent;
  return (
    <section className="agent" aria-label="Interviewer">
      <BarVisualizer state={!agent && still ? "disconnected" : state} track={audioTrack} barCount={5} className="bars" aria-hidden="true" />
      <p className="agent-state" role="status" aria-live="polite" data-testid="agent-state" data-state={state}>
        {agent && <span className="visually-hidden">{subject}: </span>}
        {label}
      </p>
    </section>
  );
}

/** Question n of m and the time left, from the agent's `interview.*` attributes. */
export function useProgress() {
  const { agentAttributes } = useVoiceAssistant();
  const question = Number(agentAttributes?.["interview.question"] ?? 0);
  const count = Number(agentAttributes?.["interview.question_count"] ?? 0);
  const endsAt = agentAttributes?.["interview.ends_at"];
  const status = agentAttributes?.["interview.status"];
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  const left = endsAt ? Math.max(0, Math.round((Date.parse(endsAt) - now) / 1000)) : null;
  return { question, count, left, status };
}

export function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  const r = s % 60;
  return `${m}:${r.toString().padStart(2, "0")}`;
}

export function Progress() {
  const { question, count, left } = useProgress();
  return (
    <dl className="progress" data-testid="progress">
      <div>
        <dt>Question</dt>
        <dd>{count > 0 ? `${question} of ${count}` : "—"}</dd>
      </div>
      <div>
        <dt>Time left</dt>
        <dd>
          {left === null ? "—" : <time aria-label={`${Math.ceil(left / 60)} minutes left`}>{formatSeconds(left)}</time>}
        </dd>
      </div>
    </dl>
  );
}
