import {
  RoomAudioRenderer,
  RoomContext,
  StartAudio,
  useConnectionState,
  useRemoteParticipants,
} from "@livekit/components-react";
import { ConnectionState, Room } from "livekit-client";
import { useEffect, useState } from "react";
import { ApiError, ENDED, api, overall, type InterviewDetail, type Presence, type Status } from "../api";
import { AgentStatus, Progress } from "../common/agent";
import { type Line, Transcript, useTranscriptLines } from "../common/Transcript";
import { Notice } from "../common/ui";
import { type TranscriptItem, wholeTranscript } from "../reportApi";
import { useInterviewFeed } from "./feed";
import { StoredTranscript } from "./ReportPage";

// The stored transcript may lag the room by the store's flush; read it again this many times.
const STORED_TRIES = 10;
const STORED_RETRY_MS = 1500;

/** Watch one interview: hidden in the room (both voices, the live transcript, the agent's
 * state) and, from the token server's feed, the questions, scores and feedback as they are
 * stored. Nothing here is ever sent into the room. */
export function ObserverPage({ apiKey, id, signOut }: { apiKey: string; id: string; signOut: () => void }) {
  const feed = useInterviewFeed(apiKey, id, signOut);
  const detail = feed.kind === "connecting" ? undefined : feed.detail;
  const ended = detail ? ENDED.has(detail.interview.status) : false;
  // The room, once joined, knows who is there sooner than the feed does.
  const [roomPresence, setRoomPresence] = useState<Presence | null>(null);
  const presence = ended ? null : (roomPresence ?? detail?.presence ?? null);
  // What the room showed, kept for the moment between the room closing and the stored
  // transcript being read.
  const [liveLines, setLiveLines] = useState<Line[]>([]);

  return (
    <main className="page wide observer">
      <header className="topbar">
        <div>
          <p className="eyebrow">
            <a href="/interviewer">← All interviews</a>
          </p>
          <h1>{detail ? `${detail.interview.plan.candidate_name} · ${detail.interview.plan.role}` : "Interview"}</h1>
        </div>
        {detail && (
          <span
            className={`status status-${alone(detail.interview.status, presence) ? "alone" : detail.interview.status}`}
            data-testid="observer-status"
            data-status={detail.interview.status}
            role="status"
          >
            {statusText(detail.interview.status, presence)}
          </span>
        )}
      </header>
      {feed.kind === "error" && (
        <Notice tone={feed.status === 404 ? "error" : "warning"} title={feed.status === 404 ? "No such interview" : "Live updates paused"}>
          <p>{feed.message}</p>
        </Notice>
      )}
      {feed.kind === "connecting" && <p className="muted" role="status">Loading the interview…</p>}
      {detail && (
        <div className="columns">
          {ended ? (
            <section className="card" aria-label="Room">
              <p>This interview has ended; the room is closed.</p>
              <p>
                <a href={`/report/${id}`} className="button-link primary" data-testid="report-link">
                  Open the report
                </a>
              </p>
              {detail.interview.summary && (
                <>
                  <h2 className="section-title">Summary for the hiring team</h2>
                  <p data-testid="summary">{detail.interview.summary}</p>
                </>
              )}
              <EndedTranscript
                apiKey={apiKey}
                id={id}
                name={detail.interview.plan.candidate_name}
                liveLines={liveLines}
              />
            </section>
          ) : (
            <LiveRoom
              apiKey={apiKey}
              id={id}
              detail={detail}
              onPresence={setRoomPresence}
              onLines={setLiveLines}
            />
          )}
          <Scores detail={detail} />
        </div>
      )}
    </main>
  );
}

const STATUS_TEXT: Record<Status, string> = {
  waiting: "Waiting for the candidate",
  live: "Live",
  completed: "Completed",
  abandoned: "Abandoned",
  failed: "Failed",
  cancelled: "Cancelled",
};

function alone(status: Status, presence: Presence | null): boolean {
  return status === "waiting" && !!presence?.candidate && !presence.interviewer;
}

export function statusText(status: Status, presence: Presence | null): string {
  if (alone(status, presence)) return "Candidate waiting, no interviewer yet";
  if (status === "waiting" && presence?.candidate) return "Starting";
  return STATUS_TEXT[status] ?? status;
}

function LiveRoom({
  apiKey,
  id,
  detail,
  onPresence,
  onLines,
}: {
  apiKey: string;
  id: string;
  detail: InterviewDetail;
  onPresence: (p: Presence | null) => void;
  onLines: (lines: Line[]) => void;
}) {
  const [room] = useState(() => new Room({ adaptiveStream: true }));
  const [problem, setProblem] = useState<string | null>(null);
  const [candidateIdentity, setCandidateIdentity] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const grant = await api.observerToken(apiKey, id);
        if (cancelled) return;
        setCandidateIdentity(grant.candidate_identity);
        await room.connect(grant.livekit_url, grant.token);
      } catch (err) {
        if (cancelled) return;
        setProblem(err instanceof ApiError ? err.message : "The interview room could not be reached.");
      }
    })();
    return () => {
      cancelled = true;
      void room.disconnect();
    };
  }, [apiKey, id, room]);
  const connection = useConnectionState(room);
  const current = [...detail.questions].sort((a, b) => b.ordinal - a.ordinal)[0];
  return (
    <RoomContext.Provider value={room}>
      <RoomAudioRenderer />
      <section className="card live" aria-label="Live room" data-connection={connection}>
        <ObserverConnection />
        {candidateIdentity && <RoomPresence candidateIdentity={candidateIdentity} onPresence={onPresence} />}
        {problem && <Notice tone="error" title="Not connected to the room"><p>{problem}</p></Notice>}
        <div className="row spread">
          <AgentStatus />
          <Progress />
        </div>
        <StartAudio label="Listen in (press to allow audio)" className="start-audio" />
        <div className="current-question" data-testid="current-question">
          <h2 className="section-title">Current question</h2>
          <p>{current ? `${current.ordinal}. ${current.text}` : "Not asked yet."}</p>
        </div>
        {candidateIdentity && (
          <ObserverTranscript
            name={detail.interview.plan.candidate_name}
            candidateIdentity={candidateIdentity}
            onLines={onLines}
          />
        )}
      </section>
    </RoomContext.Provider>
  );
}

/** Reports who is in the room while the observer is connected (it is hidden, so it is never
 * counted itself), and null otherwise. */
function RoomPresence({
  candidateIdentity,
  onPresence,
}: {
  candidateIdentity: string;
  onPresence: (p: Presence | null) => void;
}) {
  const state = useConnectionState();
  const participants = useRemoteParticipants();
  const candidate = participants.some((p) => p.identity === candidateIdentity);
  const interviewer = participants.some((p) => p.isAgent);
  const connected = state === ConnectionState.Connected;
  useEffect(() => {
    onPresence(connected ? { candidate, interviewer } : null);
  }, [connected, candidate, interviewer, onPresence]);
  useEffect(() => () => onPresence(null), [onPresence]);
  return null;
}

function ObserverConnection() {
  const state = useConnectionState();
  const text: Partial<Record<ConnectionState, string>> = {
    [ConnectionState.Connecting]: "Joining the room (hidden)…",
    [ConnectionState.Reconnecting]: "Connection lost — reconnecting…",
    [ConnectionState.SignalReconnecting]: "Connection lost — reconnecting…",
  };
  const t = text[state];
  if (!t) return null;
  return (
    <div className="banner" role="status">
      {t}
    </div>
  );
}

function ObserverTranscript({
  name,
  candidateIdentity,
  onLines,
}: {
  name: string;
  candidateIdentity: string;
  onLines: (lines: Line[]) => void;
}) {
  const lines = useTranscriptLines(candidateIdentity);
  useEffect(() => {
    if (lines.length) onLines(lines);
  }, [lines, onLines]);
  return <Transcript lines={lines} candidateLabel={name} empty="Nothing said yet." />;
}

/** After the room closes: the stored transcript (read again while it has fewer lines than the
 * room showed, as the store may still be writing), and the room's lines until it is read. */
function EndedTranscript({
  apiKey,
  id,
  name,
  liveLines,
}: {
  apiKey: string;
  id: string;
  name: string;
  liveLines: Line[];
}) {
  const [stored, setStored] = useState<TranscriptItem[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const seen = liveLines.filter((l) => l.final).length;
  useEffect(() => {
    const abort = new AbortController();
    let timer: number | undefined;
    const load = async (tries: number) => {
      try {
        const items = await wholeTranscript(apiKey, id, abort.signal);
        setStored(items);
        setProblem(null);
        if (items.length < seen && tries > 1) timer = window.setTimeout(() => void load(tries - 1), STORED_RETRY_MS);
      } catch (err) {
        if (abort.signal.aborted) return;
        setProblem((err as ApiError).message);
        if (tries > 1) timer = window.setTimeout(() => void load(tries - 1), STORED_RETRY_MS);
      }
    };
    void load(STORED_TRIES);
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [apiKey, id, seen]);
  const useStored = stored !== null && (stored.length > 0 || liveLines.length === 0);
  return (
    <section className="transcript" aria-labelledby="transcript-title" data-source={useStored ? "store" : "room"}>
      <h2 id="transcript-title" className="section-title">
        Transcript
      </h2>
      {problem && !useStored && <p className="field-error">{problem}</p>}
      {useStored ? (
        <StoredTranscript items={stored} candidateLabel={name} />
      ) : liveLines.length ? (
        <ol data-testid="transcript">
          {liveLines.map((l) => (
            <li key={l.id} className={`line line-${l.who}`} data-speaker={l.who}>
              <span className="speaker">{l.who === "interviewer" ? "Interviewer" : name}</span>
              <span className="words">{l.text}</span>
            </li>
          ))}
        </ol>
      ) : (
        <p className="muted">Loading the transcript…</p>
      )}
    </section>
  );
}

function Scores({ detail }: { detail: InterviewDetail }) {
  const answers = new Map(detail.answers.map((a) => [a.ordinal, a]));
  const feedback = new Map(detail.feedback.filter((f) => f.ordinal !== null).map((f) => [f.ordinal, f]));
  const final = detail.feedback.filter((f) => f.ordinal === null).flatMap((f) => f.bullets);
  const questions = [...detail.questions].sort((a, b) => a.ordinal - b.ordinal);
  return (
    <section className="card" aria-labelledby="scores-title" data-testid="scores">
      <h2 id="scores-title">Questions and scores</h2>
      <p className="hint">Clarity, relevance, depth and accuracy, 1 to 5. Only you see these.</p>
      {questions.length === 0 && <p className="muted">No question asked yet.</p>}
      <ol className="questions">
        {questions.map((q) => {
          const a = answers.get(q.ordinal);
          const f = feedback.get(q.ordinal);
          return (
            <li key={q.ordinal} data-testid={`question-${q.ordinal}`}>
              <p className="q-text">
                <span className="q-topic">{q.topic}</span> {q.text}
              </p>
              <p className="muted small">Outcome: {q.outcome.replace("_", " ")}</p>
              {a ? (
                <>
                  <table className="score-table">
                    <caption className="visually-hidden">Scores for question {q.ordinal}</caption>
                    <thead>
                      <tr>
                        <th scope="col">Clarity</th>
                        <th scope="col">Relevance</th>
                        <th scope="col">Depth</th>
                        <th scope="col">Accuracy</th>
                        <th scope="col">Overall</th>
                      </tr>
                    </thead>
                    <tbody>
                      <tr data-testid={`scores-${q.ordinal}`}>
                        <td>{a.scores.clarity}</td>
                        <td>{a.scores.relevance}</td>
                        <td>{a.scores.depth}</td>
                        <td>{a.scores.accuracy}</td>
                        <td>
                          <strong>{overall(a.scores).toFixed(2)}</strong>
                        </td>
                      </tr>
                    </tbody>
                  </table>
                  <blockquote className="answer">{a.transcript}</blockquote>
                  {a.tags.length > 0 && (
                    <p className="tags">
                      {a.tags.map((t) => (
                        <span key={t} className="tag">
                          {t}
                        </span>
                      ))}
                    </p>
                  )}
                </>
              ) : (
                <p className="muted small">Waiting for an answer.</p>
              )}
              {f && (
                <ul className="bullets" data-testid={`feedback-${q.ordinal}`}>
                  {f.bullets.map((b, i) => (
                    <li key={i}>{b}</li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ol>
      {final.length > 0 && (
        <>
          <h3>Final feedback</h3>
          <ul className="bullets" data-testid="final-feedback">
            {final.map((b, i) => (
              <li key={i}>{b}</li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
