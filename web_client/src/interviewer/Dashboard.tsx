import { useCallback, useEffect, useState } from "react";
import { ApiError, ENDED, api, type InterviewItem } from "../api";
import { Notice } from "../common/ui";
import { CreateForm } from "./CreateForm";

const REFRESH_MS = 10_000;

/** A waiting interview whose candidate is in the room while no interviewer is: the one case
 * the interviewer may want to act on, so it has a group of its own. */
export function candidateWaitingAlone(i: InterviewItem): boolean {
  return i.status === "waiting" && !!i.presence?.candidate && !i.presence.interviewer;
}

/** The interviewer's home: create an interview, see what is live, waiting and finished. */
export function Dashboard({ apiKey, signOut }: { apiKey: string; signOut: () => void }) {
  const [items, setItems] = useState<InterviewItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setItems((await api.list(apiKey)).items);
      setError(null);
    } catch (err) {
      const e = err as ApiError;
      if (e.status === 401) return signOut();
      setError(e.message);
    }
  }, [apiKey, signOut]);

  useEffect(() => {
    void refresh();
    const t = window.setInterval(() => void refresh(), REFRESH_MS);
    return () => window.clearInterval(t);
  }, [refresh]);

  const live = items?.filter((i) => i.status === "live") ?? [];
  const alone = items?.filter(candidateWaitingAlone) ?? [];
  const waiting = items?.filter((i) => i.status === "waiting" && !candidateWaitingAlone(i)) ?? [];
  const finished = items?.filter((i) => ENDED.has(i.status)) ?? [];

  return (
    <main className="page wide">
      <header className="topbar">
        <h1>Interviews</h1>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <div className="columns">
        <CreateForm apiKey={apiKey} onCreated={() => void refresh()} onUnauthorized={signOut} />
        <section className="card" aria-labelledby="list-title">
          <div className="row spread">
            <h2 id="list-title">All interviews</h2>
            <button type="button" className="secondary" onClick={() => void refresh()}>
              Refresh
            </button>
          </div>
          {error && <Notice tone="error" title="The list could not be loaded"><p>{error}</p></Notice>}
          {items === null && !error && <p className="muted">Loading…</p>}
          {items !== null && (
            <>
              <Group title="Live now" items={live} testId="live" />
              {alone.length > 0 && (
                <Group title="Candidate waiting — no interviewer yet" items={alone} testId="candidate-waiting" />
              )}
              <Group title="Waiting for the candidate" items={waiting} testId="waiting" />
              <Group title="Finished" items={finished} testId="finished" />
            </>
          )}
        </section>
      </div>
    </main>
  );
}

function Group({ title, items, testId }: { title: string; items: InterviewItem[]; testId: string }) {
  return (
    <section className="group" aria-label={title} data-testid={`group-${testId}`}>
      <h3>
        {title} <span className="count">{items.length}</span>
      </h3>
      {items.length === 0 ? (
        <p className="muted">None</p>
      ) : (
        <ul className="interviews">
          {items.map((i) => (
            <li key={i.id}>
              <a href={`/observe/${i.id}`} className="interview-link">
                <span className="who">{i.plan.candidate_name}</span>
                {candidateWaitingAlone(i) ? (
                  <span className="status status-alone">no interviewer</span>
                ) : (
                  <span className={`status status-${i.status}`}>{i.status}</span>
                )}
                <span className="what">
                  {i.plan.role} · {i.plan.level} · {i.plan.mode}
                </span>
                <time className="when" dateTime={i.created_at}>
                  {new Date(i.created_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}
                </time>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
