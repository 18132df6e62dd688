import type { LocalAudioTrack } from "livekit-client";
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, type CandidateJoin, type CandidateWelcome } from "../api";
import { Notice } from "../common/ui";
import { ConsentStep, DeclinedScreen } from "./ConsentStep";
import { EndScreen } from "./EndScreen";
import { InterviewRoom, type RoomOutcome } from "./InterviewRoom";
import { MicCheck } from "./MicCheck";
import { MIC_MESSAGES, classifyMicError, openMicrophone, type MicProblem } from "./mic";

type Phase =
  | { kind: "loading" }
  | { kind: "problem"; error: ApiError }
  | { kind: "prejoin"; welcome: CandidateWelcome }
  | { kind: "joining"; welcome: CandidateWelcome }
  | { kind: "declining"; welcome: CandidateWelcome }
  | { kind: "declined" }
  | { kind: "live"; session: CandidateJoin }
  | { kind: "lost"; session: CandidateJoin }
  | { kind: "ended"; session: CandidateJoin };

const INVITE_MESSAGES: Record<string, { title: string; body: string }> = {
  invite_not_found: {
    title: "This invite link is not valid",
    body: "Check that you opened the whole link from your invitation, or ask the sender for a new one.",
  },
  interview_ended: {
    title: "This interview has already ended",
    body: "The link no longer works. If you think this is a mistake, contact the person who invited you.",
  },
  unreachable: {
    title: "The interview server can’t be reached",
    body: "Check your internet connection and try again in a moment.",
  },
  rate_limited: {
    title: "Too many attempts",
    body: "Wait a minute, then try again.",
  },
  missing_secret: {
    title: "This link is incomplete",
    body: "Open the full link from your invitation: it ends with a long code after “#”.",
  },
  consent_version_mismatch: {
    title: "The consent text has changed",
    body: "The text you read has been updated since the page opened. Try again to read the new one.",
  },
};

function inviteSecret(): string {
  return decodeURIComponent(window.location.hash.replace(/^#/, "")).trim();
}

/** The candidate's page (`/join#<secret>`): read and agree to the consent text, check the name
 * and microphone, join, talk, end. Opening the page sends for no interviewer: joining does. */
export function CandidatePage() {
  const secret = useRef(inviteSecret()).current;
  const [phase, setPhase] = useState<Phase>({ kind: "loading" });
  const [micTrack, setMicTrack] = useState<LocalAudioTrack | null>(null);
  const [micProblem, setMicProblem] = useState<MicProblem | null>(null);
  const [textOnly, setTextOnly] = useState(false);
  const [agreed, setAgreed] = useState(false);
  // The agreement is stored once; a rejoin after a lost connection does not record it again.
  const consentStored = useRef(false);

  const load = useCallback(async () => {
    setPhase({ kind: "loading" });
    if (!secret) {
      setPhase({ kind: "problem", error: new ApiError(0, "missing_secret", "no secret") });
      return;
    }
    try {
      const welcome = await api.session(secret);
      consentStored.current = welcome.agreed;
      setAgreed(consentStored.current);
      setPhase({ kind: "prejoin", welcome });
    } catch (err) {
      setPhase(failed(err));
    }
  }, [secret]);

  useEffect(() => {
    void load();
  }, [load]);

  const startMic = useCallback(async () => {
    setMicProblem(null);
    try {
      const track = await openMicrophone();
      setMicTrack((old) => {
        old?.stop();
        return track;
      });
      setTextOnly(false);
    } catch (err) {
      setMicProblem(classifyMicError(err));
    }
  }, []);

  useEffect(() => {
    if (phase.kind === "prejoin" && !micTrack && !micProblem && !textOnly) void startMic();
  }, [phase.kind, micTrack, micProblem, textOnly, startMic]);

  // Stop the microphone when the page is done with it.
  useEffect(() => {
    if (phase.kind === "ended" || phase.kind === "problem" || phase.kind === "declined") {
      micTrack?.stop();
    }
  }, [phase.kind, micTrack]);

  const join = useCallback(
    async (welcome?: CandidateWelcome) => {
      if (welcome) setPhase({ kind: "joining", welcome });
      try {
        if (welcome && !consentStored.current) {
          await api.consent(secret, "agree", welcome.consent.version);
          consentStored.current = true;
        }
        // A fresh token: the candidate may have spent a while on the checks.
        const fresh = await api.join(secret);
        setPhase({ kind: "live", session: fresh });
      } catch (err) {
        setPhase(failed(err));
      }
    },
    [secret],
  );

  const decline = useCallback(
    async (welcome: CandidateWelcome) => {
      setPhase({ kind: "declining", welcome });
      try {
        await api.consent(secret, "decline", welcome.consent.version);
        setPhase({ kind: "declined" });
      } catch (err) {
        setPhase(failed(err));
      }
    },
    [secret],
  );

  const onOutcome = useCallback(
    (session: CandidateJoin, outcome: RoomOutcome) => {
      if (outcome === "ended") setPhase({ kind: "ended", session });
      else if (outcome === "unreachable")
        setPhase({
          kind: "problem",
          error: new ApiError(0, "media_unreachable", "The media server could not be reached."),
        });
      else setPhase({ kind: "lost", session });
    },
    [],
  );

  return (
    <main className="page candidate" data-phase={phase.kind}>
      {phase.kind === "loading" && <p className="muted" role="status">Opening your interview…</p>}

      {phase.kind === "problem" && <InviteProblem error={phase.error} retry={() => void load()} />}

      {phase.kind === "declined" && <DeclinedScreen />}

      {(phase.kind === "prejoin" || phase.kind === "joining" || phase.kind === "declining") && (
        <section className="card prejoin" aria-labelledby="prejoin-title">
          <p className="eyebrow">{phase.welcome.interview.mode === "practice" ? "Practice interview" : "Interview"}</p>
          <h1 id="prejoin-title">
            {phase.welcome.interview.role}
          </h1>
          <p>
            You are joining as <strong data-testid="candidate-name">{phase.welcome.interview.candidate_name}</strong>.
            The AI interviewer will ask {phase.welcome.interview.question_count}{" "}
            {phase.welcome.interview.question_count === 1 ? "question" : "questions"} in about{" "}
            {phase.welcome.interview.duration_minutes} minutes. Answer out loud; take your time.
          </p>
          <ConsentStep
            terms={phase.welcome.consent}
            agreed={agreed}
            already={phase.welcome.agreed}
            onChange={setAgreed}
          />
          {micTrack && !textOnly && <MicCheck track={micTrack} />}
          {micProblem && (
            <Notice tone="error" title={MIC_MESSAGES[micProblem].title} testId="mic-problem">
              <p>{MIC_MESSAGES[micProblem].body}</p>
              <div className="row">
                <button type="button" onClick={() => void startMic()}>
                  Try again
                </button>
                <button type="button" className="secondary" onClick={() => setTextOnly(true)}>
                  Continue with text chat
                </button>
              </div>
            </Notice>
          )}
          {textOnly && (
            <Notice tone="info" title="Text chat">
              <p>You will type your answers; the interviewer’s words appear in the transcript.</p>
            </Notice>
          )}
          <div className="row">
            <button
              type="button"
              className="primary"
              disabled={phase.kind !== "prejoin" || !agreed || (!micTrack && !textOnly)}
              onClick={() => void join(phase.welcome)}
            >
              {phase.kind === "joining" ? "Joining…" : `I’m ${phase.welcome.interview.candidate_name} — join`}
            </button>
            {!phase.welcome.agreed && (
              <button
                type="button"
                className="secondary"
                disabled={phase.kind !== "prejoin"}
                onClick={() => void decline(phase.welcome)}
              >
                {phase.kind === "declining" ? "Telling the team…" : "I do not agree"}
              </button>
            )}
          </div>
          {!agreed && <p className="hint">Tick “I agree” to join.</p>}
          <p className="hint">Headphones give the clearest sound. You can mute yourself or type at any time.</p>
        </section>
      )}

      {phase.kind === "live" && (
        <InterviewRoom
          session={phase.session}
          secret={secret}
          micTrack={textOnly ? null : micTrack}
          onOutcome={(o) => onOutcome(phase.session, o)}
        />
      )}

      {phase.kind === "lost" && (
        <section className="card" aria-labelledby="lost-title">
          <h1 id="lost-title">You were disconnected</h1>
          <p>Your interview is kept open for a short while. Rejoin to carry on where you left off.</p>
          <button type="button" className="primary" onClick={() => void join()}>
            Rejoin
          </button>
        </section>
      )}

      {phase.kind === "ended" && <EndScreen session={phase.session} secret={secret} />}
    </main>
  );
}

/** A declined invite ends on its own screen; other failures are problems. */
function failed(err: unknown): Phase {
  const error = err as ApiError;
  return error.code === "consent_declined" ? { kind: "declined" } : { kind: "problem", error };
}

function InviteProblem({ error, retry }: { error: ApiError; retry: () => void }) {
  const known = INVITE_MESSAGES[error.code] ?? {
    title: error.code === "media_unreachable" ? "The interview room can’t be reached" : "Something went wrong",
    body:
      error.code === "media_unreachable"
        ? "Your connection to the interview room failed. Check your network (some office networks block calls) and try again."
        : error.message,
  };
  const canRetry = !["invite_not_found", "interview_ended", "missing_secret"].includes(error.code);
  return (
    <section className="card" aria-labelledby="problem-title">
      <Notice tone="error" title={known.title} testId="invite-problem" headingId="problem-title" code={error.code}>
        <p>{known.body}</p>
        {canRetry && (
          <button type="button" onClick={retry}>
            Try again
          </button>
        )}
      </Notice>
    </section>
  );
}
