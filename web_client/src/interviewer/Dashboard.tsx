import { useCallback, useEffect, useState } from "react";
import { ApiError, ENDED, type InterviewItem, type Status } from "../api";
import { Notice } from "../common/ui";
import { DECISION_TEXT, RECOMMENDATION_TEXT, reportApi, type Decision, type ListedInterview } from "../reportApi";
import { CreateForm } from "./CreateForm";

const REFRESH_MS = 10_000;

/** A waiting interview whose candidate is in the room while no interviewer is: the one case
 * the interviewer may want to act on, so it has a group of its own. */
export function candidateWaitingAlone(i: InterviewItem): boolean {
  return i.status === "waiting" && !!i.presence?.candidate && !i.presence.interviewer;
}

const PAGE = 100;
const SEARCH_DEBOUNCE_MS = 300;
const STATUSES: Status[] = ["waiting", "live", "completed", "abandoned", "failed", "cancelled"];

interface Filters {
  q: string;
  status: Status | "";
  decision: Decision | "none" | "";
}

/** The filters as the address keeps them, so a reload or a shared link shows the same list. */
function readFilters(): Filters {
  const p = new URLSearchParams(window.location.search);
  const status = p.get("status") ?? "";
  const decision = p.get("decision") ?? "";
  return {
    q: p.get("q") ?? "",
    status: (STATUSES as string[]).includes(status) ? (status as Status) : "",
    decision: ["advance", "hold", "reject", "none"].includes(decision) ? (decision as Decision | "none") : "",
  };
}

function writeFilters(f: Filters): void {
  const p = new URLSearchParams();
  if (f.q.trim()) p.set("q", f.q.trim());
  if (f.status) p.set("status", f.status);
  if (f.decision) p.set("decision", f.decision);
  const qs = p.toString();
  window.history.replaceState(null, "", window.location.pathname + (qs ? `?${qs}` : ""));
}

/** The interviewer's home: create an interview, see what is live, waiting and finished, find
 * one by candidate or role, filter by status and decision, page through all of them. */
export function Dashboard({ apiKey, signOut }: { apiKey: string; signOut: () => void }) {
  const [items, setItems] = useState<ListedInterview[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filters, setFilters] = useState<Filters>(readFilters);
  const [search, setSearch] = useState(filters.q);
  const [offset, setOffset] = useState(0);
  const [nextOffset, setNextOffset] = useState<number | null>(null);

  const refresh = useCallback(async () => {
    try {
      const page = await reportApi.list(apiKey, { ...filters, limit: PAGE, offset });
      setItems(page.items);
      setNextOffset(page.next_offset);
      setError(null);
    } catch (err) {
      const e = err as ApiError;
      if (e.status === 401) return signOut();
      setError(e.message);
    }
  }, [apiKey, signOut, filters, offset]);

  useEffect(() => {
    void refresh();
    const t = window.setInterval(() => void refresh(), REFRESH_MS);
    return () => window.clearInterval(t);
  }, [refresh]);

  const change = useCallback((part: Partial<Filters>) => {
    setFilters((prev) => {
      const next = { ...prev, ...part };
      writeFilters(next);
      return next;
    });
    setOffset(0);
  }, []);

  // Typing searches after a pause, from the first page.
  useEffect(() => {
    if (search === filters.q) return;
    const t = window.setTimeout(() => change({ q: search }), SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(t);
  }, [search, filters.q, change]);

  const filtered = !!(filters.q.trim() || filters.status || filters.decision);
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
          <form className="filters" role="search" onSubmit={(e) => (e.preventDefault(), change({ q: search }))}>
            <div className="field grow">
              <label htmlFor="search">Search</label>
              <input
                id="search"
                type="search"
                placeholder="Candidate or role"
                value={search}
                onChange={(e) => setSearch(e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor="filter-status">Status</label>
              <select
                id="filter-status"
                value={filters.status}
                onChange={(e) => change({ status: e.target.value as Filters["status"] })}
              >
                <option value="">Any</option>
                {STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="filter-decision">Decision</label>
              <select
                id="filter-decision"
                value={filters.decision}
                onChange={(e) => change({ decision: e.target.value as Filters["decision"] })}
              >
                <option value="">Any</option>
                <option value="advance">Advance</option>
                <option value="hold">Hold</option>
                <option value="reject">Reject</option>
                <option value="none">Not decided</option>
              </select>
            </div>
          </form>
          {error && <Notice tone="error" title="The list could not be loaded"><p>{error}</p></Notice>}
          {items === null && !error && <p className="muted">Loading…</p>}
          {items !== null && (
            <>
              {filtered && (
                <p className="muted small" role="status" data-testid="match-count">
                  {items.length === 0
                    ? "No interview matches."
                    : offset === 0 && nextOffset === null
                      ? `${items.length} matching`
                      : `${offset + 1}–${offset + items.length} of ${nextOffset !== null ? "more than " : ""}${offset + items.length} matching`}
                </p>
              )}
              {(!filtered || live.length > 0) && <Group title="Live now" items={live} testId="live" />}
              {alone.length > 0 && (
                <Group title="Candidate waiting — no interviewer yet" items={alone} testId="candidate-waiting" />
              )}
              {(!filtered || waiting.length > 0) && (
                <Group title="Waiting for the candidate" items={waiting} testId="waiting" />
              )}
              {(!filtered || finished.length > 0) && <Group title="Finished" items={finished} testId="finished" />}
              {(offset > 0 || nextOffset !== null) && (
                <nav className="row spread pager" aria-label="Pages">
                  <button
                    type="button"
                    className="secondary"
                    disabled={offset === 0}
                    onClick={() => setOffset(Math.max(0, offset - PAGE))}
                  >
                    ← Newer
                  </button>
                  <span className="muted small" data-testid="page-range">
                    {offset + 1}–{offset + items.length}
                  </span>
                  <button
                    type="button"
                    className="secondary"
                    disabled={nextOffset === null}
                    onClick={() => nextOffset !== null && setOffset(nextOffset)}
                  >
                    Older →
                  </button>
                </nav>
              )}
            </>
          )}
        </section>
      </div>
    </main>
  );
}

function Group({ title, items, testId }: { title: string; items: ListedInterview[]; testId: string }) {
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
            <li key={i.id} data-testid={`card-${i.id}`}>
              <a href={ENDED.has(i.status) ? `/report/${i.id}` : `/observe/${i.id}`} className="interview-link">
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
                {i.status === "cancelled" && i.summary && (
                  <span className="card-summary" data-testid="card-summary">
                    {i.summary}
                  </span>
                )}
                {ENDED.has(i.status) && (
                  <span className="outcomes">
                    <span
                      className={`badge rec-${i.recommendation ?? "none"}`}
                      data-testid="card-recommendation"
                      data-value={i.recommendation ?? ""}
                    >
                      {i.recommendation ? RECOMMENDATION_TEXT[i.recommendation] : "No recommendation"}
                    </span>
                    <span
                      className={`badge decision-${i.decision ?? "none"}`}
                      data-testid="card-decision"
                      data-value={i.decision ?? ""}
                    >
                      {i.decision ? DECISION_TEXT[i.decision] : "Not decided"}
                    </span>
                    <span className="report-cta">Report →</span>
                  </span>
                )}
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
