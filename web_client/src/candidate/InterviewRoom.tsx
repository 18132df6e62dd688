import {
  RoomAudioRenderer,
  RoomContext,
  StartAudio,
  useConnectionState,
  useRoomContext,
  useTrackToggle,
  useVoiceAssistant,
} from "@livekit/components-react";
import {
  ConnectionState,
  DisconnectReason,
  type LocalAudioTrack,
  Room,
  RoomEvent,
  Track,
} from "livekit-client";
import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import type { CandidateJoin } from "../api";
import { AgentStatus, Progress } from "../common/agent";
import { InterviewerUnavailable, useInterviewerArrival } from "./arrival";
import { type Line, Transcript, useTranscriptLines } from "../common/Transcript";

export type RoomOutcome = "ended" | "lost" | "unreachable";

const END_RPC = "interview.end";
// Reasons the server gives when the interview itself is over (the agent deleted the room).
const OVER = new Set<DisconnectReason | undefined>([
  DisconnectReason.ROOM_DELETED,
  DisconnectReason.ROOM_CLOSED,
  DisconnectReason.PARTICIPANT_REMOVED,
]);

/** The candidate in the room: connects with the token, publishes the checked microphone (if
 * any), and reports how the session ended. */
export function InterviewRoom({
  session,
  secret,
  micTrack,
  onOutcome,
}: {
  session: CandidateJoin;
  secret: string;
  micTrack: LocalAudioTrack | null;
  onOutcome: (o: RoomOutcome) => void;
}) {
  const [room] = useState(() => new Room({ adaptiveStream: true, dynacast: true }));
  const [connected, setConnected] = useState(false);
  const ending = useRef(false);
  const statusRef = useRef<string | undefined>(undefined);
  const report = useRef(onOutcome);
  report.current = onOutcome;

  useEffect(() => {
    let cancelled = false;
    const onDisconnected = (reason?: DisconnectReason) => {
      if (cancelled) return;
      const over =
        ending.current || OVER.has(reason) || ["completed", "abandoned", "failed", "cancelled"].includes(statusRef.current ?? "");
      report.current(over ? "ended" : "lost");
    };
    const onAttributes = (changed: Record<string, string>) => {
      if (changed["interview.status"]) statusRef.current = changed["interview.status"];
    };
    room.on(RoomEvent.Disconnected, onDisconnected);
    room.on(RoomEvent.ParticipantAttributesChanged, onAttributes);
    (async () => {
      try {
        await room.connect(session.livekit_url, session.token);
      } catch {
        if (!cancelled) report.current("unreachable");
        return;
      }
      if (cancelled) return;
      setConnected(true);
      if (micTrack) {
        // A track stopped by an earlier disconnect is reopened on the same device.
        if (micTrack.mediaStreamTrack.readyState === "ended") await micTrack.restartTrack();
        await room.localParticipant.publishTrack(micTrack, { source: Track.Source.Microphone });
      }
    })();
    return () => {
      cancelled = true;
      room.off(RoomEvent.Disconnected, onDisconnected);
      room.off(RoomEvent.ParticipantAttributesChanged, onAttributes);
      void room.disconnect(false);
    };
  }, [room, session, micTrack]);

  const endInterview = useCallback(async () => {
    ending.current = true;
    const agent = [...room.remoteParticipants.values()].find((p) => p.isAgent);
    if (agent) {
      try {
        // The interviewer closes the interview properly (status, goodbye, room).
        await room.localParticipant.performRpc({
          destinationIdentity: agent.identity,
          method: END_RPC,
          payload: JSON.stringify({ reason: "candidate_ended" }),
          responseTimeout: 8000,
        });
      } catch {
        // Leaving still ends it: the agent's grace window marks it abandoned.
      }
    }
    await room.disconnect();
  }, [room]);

  return (
    <RoomContext.Provider value={room}>
      <RoomAudioRenderer />
      <LiveView
        session={session}
        secret={secret}
        connected={connected}
        textOnly={!micTrack}
        onEnd={endInterview}
      />
    </RoomContext.Provider>
  );
}

function LiveView({
  session,
  secret,
  connected,
  textOnly,
  onEnd,
}: {
  session: CandidateJoin;
  secret: string;
  connected: boolean;
  textOnly: boolean;
  onEnd: () => Promise<void>;
}) {
  const state = useConnectionState();
  const [typed, setTyped] = useState<Line[]>([]);
  const lines = useTranscriptLines(session.identity, typed);
  const reconnecting = state === ConnectionState.Reconnecting || state === ConnectionState.SignalReconnecting;
  const { agent } = useVoiceAssistant();
  const arrival = useInterviewerArrival(secret, session.interviewer, agent !== undefined);

  return (
    <div className="live">
      <header className="live-header">
        <div>
          <p className="eyebrow">{session.interview.mode === "practice" ? "Practice interview" : "Interview"}</p>
          <h1>{session.interview.role}</h1>
        </div>
        <Progress />
      </header>
      {reconnecting && (
        <div className="banner" role="alert" data-testid="reconnecting">
          Connection lost — reconnecting…
        </div>
      )}
      {!connected && !reconnecting && (
        <p className="muted" role="status">
          Connecting to the interview room…
        </p>
      )}
      <AgentStatus absent={arrival.label} still={arrival.arrival.state === "unavailable"} />
      {!agent && arrival.arrival.state === "unavailable" && <InterviewerUnavailable arrival={arrival} />}
      <StartAudio label="Allow audio: press to hear the interviewer" className="start-audio" />
      <Transcript lines={lines} />
      <Controls textOnly={textOnly} onEnd={onEnd} onTyped={(l) => setTyped((t) => [...t, l])} />
    </div>
  );
}

function Controls({
  textOnly,
  onEnd,
  onTyped,
}: {
  textOnly: boolean;
  onEnd: () => Promise<void>;
  onTyped: (line: Line) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [ending, setEnding] = useState(false);
  return (
    <section className="controls" aria-label="Controls">
      <ChatBox onTyped={onTyped} prominent={textOnly} />
      <div className="row">
        {!textOnly && <MuteButton />}
        <button type="button" className="danger" onClick={() => dialog.current?.showModal()} disabled={ending}>
          {ending ? "Ending…" : "End interview"}
        </button>
      </div>
      <dialog ref={dialog} aria-labelledby="end-title" className="confirm">
        <h2 id="end-title">End the interview?</h2>
        <p>You cannot rejoin once it has ended.</p>
        <form method="dialog" className="row">
          <button type="submit" value="cancel" className="secondary" autoFocus>
            Keep going
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => {
              dialog.current?.close();
              setEnding(true);
              void onEnd();
            }}
          >
            End now
          </button>
        </form>
      </dialog>
    </section>
  );
}

function MuteButton() {
  const { enabled, pending, toggle } = useTrackToggle({ source: Track.Source.Microphone });
  return (
    <button
      type="button"
      aria-pressed={!enabled}
      disabled={pending}
      onClick={() => void toggle()}
      data-testid="mute"
    >
      {enabled ? "Mute" : "Unmute"}
    </button>
  );
}

function ChatBox({ onTyped, prominent }: { onTyped: (line: Line) => void; prominent: boolean }) {
  const { agent } = useVoiceAssistant();
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const room = useRoomContext();
  const send = async (e: FormEvent) => {
    e.preventDefault();
    const words = text.trim();
    if (!words || !room) return;
    try {
      const info = await room.localParticipant.sendText(words, { topic: "lk.chat" });
      onTyped({ id: info.id, who: "candidate", text: words, at: info.timestamp, final: true });
      setText("");
      setError(null);
    } catch {
      setError("The message could not be sent. Try again.");
    }
  };
  return (
    <form className={`chat ${prominent ? "chat-prominent" : ""}`} onSubmit={(e) => void send(e)}>
      <label htmlFor="chat-input">{prominent ? "Your answer" : "Or type a message"}</label>
      <div className="row nowrap">
        <input
          id="chat-input"
          type="text"
          autoComplete="off"
          maxLength={2000}
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={agent ? "Type and press Enter" : "Waiting for the interviewer…"}
        />
        <button type="submit" disabled={!text.trim() || !agent}>
          Send
        </button>
      </div>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
