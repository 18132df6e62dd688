import { useTranscriptions } from "@livekit/components-react";
import { useEffect, useMemo, useRef } from "react";

export interface Line {
  id: string;
  who: "interviewer" | "candidate";
  text: string;
  at: number;
  final: boolean;
}

/** Both sides of the conversation from the room's `lk.transcription` text streams. The agent
 * publishes the candidate's words on the candidate's behalf, so a stream sent as the candidate
 * is the candidate's and every other one is the interviewer's: lines of an interviewer that
 * was replaced mid-interview keep their speaker. `extra` adds lines the room does not echo
 * (the candidate's typed messages). */
export function useTranscriptLines(candidateIdentity: string, extra: Line[] = []): Line[] {
  const streams = useTranscriptions();
  return useMemo(() => {
    const lines: Line[] = streams
      .filter((s) => s.text.trim() !== "")
      .map((s) => ({
        id: s.streamInfo.attributes?.["lk.segment_id"] ?? s.streamInfo.id,
        who: s.participantInfo.identity === candidateIdentity ? "candidate" : "interviewer",
        text: s.text,
        at: s.streamInfo.timestamp,
        final: s.streamInfo.attributes?.["lk.transcription_final"] !== "false",
      }));
    return [...lines, ...extra].sort((a, b) => a.at - b.at);
  }, [streams, candidateIdentity, extra]);
}

export function Transcript({
  lines,
  candidateLabel = "You",
  empty = "The conversation will appear here.",
}: {
  lines: Line[];
  candidateLabel?: string;
  empty?: string;
}) {
  const end = useRef<HTMLLIElement>(null);
  useEffect(() => {
    end.current?.scrollIntoView({ block: "nearest" });
  }, [lines]);
  return (
    <section className="transcript" aria-labelledby="transcript-title">
      <h2 id="transcript-title" className="section-title">
        Transcript
      </h2>
      {/* role=log: screen readers announce new lines politely, without re-reading all */}
      <ol role="log" aria-live="polite" aria-relevant="additions" data-testid="transcript">
        {lines.length === 0 && <li className="muted">{empty}</li>}
        {lines.map((l) => (
          <li key={l.id} className={`line line-${l.who}`} data-speaker={l.who}>
            <span className="speaker">{l.who === "interviewer" ? "Interviewer" : candidateLabel}</span>
            <span className="words">{l.text}</span>
          </li>
        ))}
        <li ref={end} aria-hidden="true" className="sentinel" />
      </ol>
    </section>
  );
}
