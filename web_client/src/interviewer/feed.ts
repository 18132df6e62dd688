import { useEffect, useState } from "react";
import type { InterviewDetail } from "../api";

export type FeedState =
  | { kind: "connecting" }
  | { kind: "open"; detail: InterviewDetail }
  | { kind: "ended"; detail: InterviewDetail }
  | { kind: "error"; status: number; message: string; detail?: InterviewDetail };

/** The interview detail, live, from `GET /api/interviews/{id}/feed` (server-sent events).
 * Read with fetch, not EventSource, because the feed needs the Bearer header; reconnects after
 * the stream's lifetime or a network drop until the interview ends. */
export function useInterviewFeed(apiKey: string, id: string, onUnauthorized: () => void): FeedState {
  const [state, setState] = useState<FeedState>({ kind: "connecting" });
  useEffect(() => {
    const abort = new AbortController();
    let last: InterviewDetail | undefined;
    let retryMs = 2000;
    let done = false;

    const handle = (event: string, data: string) => {
      if (event === "detail") {
        last = JSON.parse(data) as InterviewDetail;
        setState({ kind: "open", detail: last });
      } else if (event === "end" && last) {
        done = true;
        setState({ kind: "ended", detail: last });
      }
    };

    const run = async () => {
      while (!done && !abort.signal.aborted) {
        try {
          const resp = await fetch(`/api/interviews/${encodeURIComponent(id)}/feed`, {
            headers: { Authorization: `Bearer ${apiKey}`, Accept: "text/event-stream" },
            signal: abort.signal,
            cache: "no-store",
          });
          if (resp.status === 401) return onUnauthorized();
          if (!resp.ok || !resp.body) {
            let message = `The server answered ${resp.status}.`;
            try {
              message = ((await resp.json()) as { error: { message: string } }).error.message;
            } catch {
              // keep the generic message
            }
            setState({ kind: "error", status: resp.status, message, detail: last });
            if (resp.status === 404) return;
          } else {
            await readEvents(resp.body, handle, (ms) => (retryMs = ms));
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          setState({ kind: "error", status: 0, message: "The live feed was interrupted; reconnecting…", detail: last });
          void err;
        }
        if (!done) await new Promise((r) => window.setTimeout(r, retryMs));
      }
    };
    void run();
    return () => abort.abort();
  }, [apiKey, id, onUnauthorized]);
  return state;
}

async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: string, data: string) => void,
  onRetry: (ms: number) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        const value2 = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (name === "event") event = value2;
        else if (name === "data") data.push(value2);
        else if (name === "retry" && /^\d+$/.test(value2)) onRetry(Number(value2));
      }
      if (data.length) onEvent(event, data.join("\n"));
    }
  }
}
