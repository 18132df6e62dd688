import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, type InterviewerArrival } from "../api";
import { Notice } from "../common/ui";

// How often the page asks where the interviewer is while none is in the room. The room itself
// says when one arrives; the server says whether it is still trying.
const POLL_MS = 2000;
// After a 429 the page waits longer before it asks again.
const THROTTLED_MS = 6000;

export interface Arrival {
  arrival: InterviewerArrival;
  /** What the interviewer's status line says while no interviewer is in the room. */
  label: string;
  retry: () => Promise<void>;
  retrying: boolean;
  retryError: string | null;
}

/** Where the interviewer is while none is in the room: polls `/api/join/interviewer` until an
 * agent is there (or the server gives up, then `retry` asks it to start again). */
export function useInterviewerArrival(secret: string, initial: InterviewerArrival | undefined, agentHere: boolean): Arrival {
  const [arrival, setArrival] = useState<InterviewerArrival>(initial ?? { state: "connecting", attempts: 1 });
  const [retrying, setRetrying] = useState(false);
  const [retryError, setRetryError] = useState<string | null>(null);
  const hadAgent = useRef(false);
  if (agentHere) hadAgent.current = true;
  useEffect(() => {
    // If it leaves again (its worker died), the page asks afresh instead of showing old news.
    if (agentHere) setArrival((a) => (a.state === "present" ? a : { ...a, state: "present" }));
  }, [agentHere]);
  const unavailable = arrival.state === "unavailable";

  useEffect(() => {
    if (agentHere || unavailable) return;
    const abort = new AbortController();
    let timer: number | undefined;
    const tick = async () => {
      let wait = POLL_MS;
      try {
        const next = await api.interviewer(secret, false, abort.signal);
        if (abort.signal.aborted) return;
        setArrival(next);
        if (next.state === "unavailable") return;
      } catch (err) {
        if (abort.signal.aborted) return;
        const status = err instanceof ApiError ? err.status : 0;
        // Ended or unknown: the room closes and the page follows it; nothing to wait for.
        if (status === 404 || status === 410) return;
        if (status === 429) wait = THROTTLED_MS;
      }
      timer = window.setTimeout(() => void tick(), wait);
    };
    timer = window.setTimeout(() => void tick(), POLL_MS);
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [secret, agentHere, unavailable]);

  const retry = useCallback(async () => {
    setRetrying(true);
    setRetryError(null);
    try {
      setArrival(await api.interviewer(secret, true));
    } catch (err) {
      setRetryError(
        err instanceof ApiError && err.status === 429
          ? "Too many attempts. Wait a minute, then try again."
          : "The interview server could not be reached. Try again in a moment.",
      );
    } finally {
      setRetrying(false);
    }
  }, [secret]);

  let label: string;
  if (arrival.state === "unavailable") label = "No interviewer yet";
  else if (hadAgent.current) label = "Reconnecting your interviewer…";
  else if (arrival.state === "retrying") label = `Still connecting your interviewer (attempt ${arrival.attempts})…`;
  else label = "Connecting your interviewer…";
  return { arrival, label, retry, retrying, retryError };
}

/** The message and the retry button once the server has stopped looking for an interviewer. */
export function InterviewerUnavailable({ arrival }: { arrival: Arrival }) {
  return (
    <Notice tone="error" title="We couldn’t connect your interviewer" testId="interviewer-unavailable">
      <p>
        No interviewer was free to join just now. Your interview is still open: try again, or come back to this
        link later.
      </p>
      <div className="row">
        <button type="button" className="primary" onClick={() => void arrival.retry()} disabled={arrival.retrying}>
          {arrival.retrying ? "Trying…" : "Try again"}
        </button>
      </div>
      {arrival.retryError && <p className="field-error">{arrival.retryError}</p>}
    </Notice>
  );
}
