// The report, transcript and review API of issue 12 (CONTRACT-12 §3). Interviewer key only;
// the candidate's pages never call these.
import { ApiError, request, type InterviewItem, type Level, type InterviewType, type Mode, type Status } from "./api";

export const RUBRICS = ["clarity", "relevance", "depth", "accuracy"] as const;
export type Rubric = (typeof RUBRICS)[number];

export type Recommendation = "strong_yes" | "yes" | "no" | "strong_no" | "insufficient_evidence";
export type Decision = "advance" | "hold" | "reject";
export type EvaluationState = "pending" | "running" | "done" | "failed" | "not_applicable";
export type QuestionOutcome = "answered" | "partial" | "skipped" | "not_asked" | "interrupted";

export interface Override {
  value: number;
  reason: string;
  reviewer: string;
  at: string;
}

export interface Score {
  value: number;
  reason: string;
  supported: boolean;
  override: Override | null;
  effective: number;
}

export interface Evidence {
  message_id: number;
  quote: string;
  at_s: number;
}

export interface ReportQuestion {
  ordinal: number;
  text: string;
  topic: string;
  outcome: QuestionOutcome | string;
  live_scores: Record<Rubric, number> | null;
  scores: Record<Rubric, Score | null>;
  evidence: Evidence[];
  answer_text: string | null;
  feedback: string[];
}

export interface Report {
  interview: {
    id: string;
    candidate_name: string;
    role: string;
    level: Level;
    type: InterviewType;
    mode: Mode;
    status: Status;
    created_at: string;
    started_at: string | null;
    ended_at: string | null;
    duration_s: number | null;
    questions_planned: number;
    questions_asked: number;
    summary: string | null;
  };
  evaluation: {
    state: EvaluationState;
    model: string | null;
    attempts: number;
    finished_at: string | null;
    recommendation: Recommendation | null;
    strengths: string[];
    concerns: string[];
    cost_usd: number | null;
  };
  overall: Record<Rubric, number | null>;
  questions: ReportQuestion[];
  review: {
    decision: { value: Decision; reviewer: string; at: string } | null;
    notes: { text: string; reviewer: string; at: string }[];
    history: { kind: string; detail: string; reviewer: string; at: string }[];
  };
  cost: { interview_usd: number | null; evaluation_usd: number | null };
}

export interface TranscriptItem {
  id: number;
  speaker: "candidate" | "interviewer";
  text: string;
  at_s: number | null;
  started_at: string;
  interrupted: boolean;
}

export interface TranscriptPage {
  items: TranscriptItem[];
  limit: number;
  offset: number;
  next_offset: number | null;
}

/** A list item with the outcome fields the list gains in issue 12 (absent on older servers). */
export interface ListedInterview extends InterviewItem {
  recommendation?: Recommendation | null;
  decision?: Decision | null;
}

export interface ListQuery {
  q?: string;
  status?: Status | "";
  decision?: Decision | "none" | "";
  limit?: number;
  offset?: number;
}

export interface ListPage {
  items: ListedInterview[];
  limit?: number;
  offset?: number;
  next_offset: number | null;
}

const base = (id: string) => `/api/interviews/${encodeURIComponent(id)}`;

export const reportApi = {
  report: (apiKey: string, id: string, signal?: AbortSignal) =>
    request<Report>(`${base(id)}/report`, { apiKey, signal }),
  transcript: (apiKey: string, id: string, offset = 0, limit = 200, signal?: AbortSignal) =>
    request<TranscriptPage>(`${base(id)}/transcript?limit=${limit}&offset=${offset}`, { apiKey, signal }),
  overrideScore: (apiKey: string, id: string, ordinal: number, rubric: Rubric, value: number, reason: string) =>
    request<Report>(`${base(id)}/review/scores/${ordinal}/${rubric}`, {
      method: "PUT",
      apiKey,
      body: { value, reason },
    }),
  clearOverride: (apiKey: string, id: string, ordinal: number, rubric: Rubric) =>
    request<Report>(`${base(id)}/review/scores/${ordinal}/${rubric}`, { method: "DELETE", apiKey }),
  addNote: (apiKey: string, id: string, text: string) =>
    request<Report>(`${base(id)}/review/notes`, { method: "POST", apiKey, body: { text } }),
  decide: (apiKey: string, id: string, value: Decision) =>
    request<Report>(`${base(id)}/review/decision`, { method: "PUT", apiKey, body: { value } }),
  list: (apiKey: string, query: ListQuery) => {
    const params = new URLSearchParams();
    params.set("limit", String(query.limit ?? 100));
    if (query.offset) params.set("offset", String(query.offset));
    if (query.q?.trim()) params.set("q", query.q.trim());
    if (query.status) params.set("status", query.status);
    if (query.decision) params.set("decision", query.decision);
    return request<ListPage>(`/api/interviews?${params.toString()}`, { apiKey });
  },
};

/** Every page of the stored transcript, oldest first. */
export async function wholeTranscript(apiKey: string, id: string, signal?: AbortSignal): Promise<TranscriptItem[]> {
  const items: TranscriptItem[] = [];
  let offset: number | null = 0;
  // Bounded: a transcript of 50 pages of 200 lines is far beyond any interview's length.
  for (let page = 0; offset !== null && page < 50; page++) {
    const got: TranscriptPage = await reportApi.transcript(apiKey, id, offset, 200, signal);
    items.push(...got.items);
    offset = got.next_offset;
  }
  return items;
}

/** Saves the report's Markdown: fetched with the key in the header (never in a URL), handed to
 * the browser as a file through an object URL. */
export async function downloadMarkdown(apiKey: string, id: string, filename: string): Promise<void> {
  let resp: Response;
  try {
    resp = await fetch(`${base(id)}/report.md`, {
      headers: { Authorization: `Bearer ${apiKey}`, Accept: "text/markdown" },
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "unreachable", "The interview server could not be reached.");
  }
  if (!resp.ok) throw new ApiError(resp.status, "http_" + resp.status, `The server answered ${resp.status}.`);
  const url = URL.createObjectURL(await resp.blob());
  try {
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
  } finally {
    // The click starts the download synchronously; the URL can go once it has.
    window.setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}

export const RECOMMENDATION_TEXT: Record<Recommendation, string> = {
  strong_yes: "Strong yes",
  yes: "Yes",
  no: "No",
  strong_no: "Strong no",
  insufficient_evidence: "Insufficient evidence",
};

export const DECISION_TEXT: Record<Decision, string> = {
  advance: "Advance",
  hold: "Hold",
  reject: "Reject",
};

export function rubricLabel(r: Rubric): string {
  return r[0].toUpperCase() + r.slice(1);
}

/** "12:05" or "1:02:05" from seconds. */
export function clock(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function duration(seconds: number | null): string {
  if (seconds === null) return "–";
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m ? `${m} min ${s} s` : `${s} s`;
}

export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  return v < 0.01 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`;
}
