// The token server's API, same origin. Every failure becomes an ApiError with the server's
// `{"error": {"code", "message", "details"}}`, or code "unreachable" when no answer came.

export type Level = "junior" | "mid" | "senior" | "lead";
export type InterviewType = "technical" | "behavioral" | "mixed";
export type Mode = "practice" | "screening";
export type Status = "waiting" | "live" | "completed" | "abandoned" | "failed" | "cancelled";

export const ENDED: ReadonlySet<Status> = new Set(["completed", "abandoned", "failed", "cancelled"]);

export interface InterviewPlan {
  candidate_name: string;
  role: string;
  level: Level;
  type: InterviewType;
  mode: Mode;
  duration_minutes: number;
  question_count: number;
  focus_areas: string[];
  language: string;
}

export interface Interview {
  id: string;
  plan: InterviewPlan;
  status: Status;
  room_name: string;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  summary: string | null;
}

export interface Scores {
  clarity: number;
  relevance: number;
  depth: number;
  accuracy: number;
}

export interface AskedQuestion {
  ordinal: number;
  text: string;
  topic: string;
  difficulty: number;
  asked_at: string;
  outcome: "pending" | "answered" | "skipped" | "timed_out" | "skipped_by_interviewer";
}

export interface Answer {
  ordinal: number;
  transcript: string;
  scores: Scores;
  tags: string[];
}

export interface Feedback {
  ordinal: number | null;
  bullets: string[];
}

/** Who is in the room now, by the token server's look at LiveKit; null when the interview has
 * ended or the server could not tell. */
export interface Presence {
  candidate: boolean;
  interviewer: boolean;
}

/** An interview as the list shows it. */
export interface InterviewItem extends Interview {
  presence?: Presence | null;
}

export interface InterviewDetail {
  interview: Interview;
  questions: AskedQuestion[];
  answers: Answer[];
  feedback: Feedback[];
  presence?: Presence | null;
}

/** Where the interviewer is, as the candidate may know it: in the room, the first dispatch on
 * its way, dispatched again after one was not taken, or not found within the server's bound. */
export type InterviewerState = "present" | "connecting" | "retrying" | "unavailable";

export interface InterviewerArrival {
  state: InterviewerState;
  attempts: number;
}

/** The consent text the candidate agrees to before joining, as the server sends it. */
export interface ConsentTerms {
  version: string;
  text: string[];
  retention_days: number;
  privacy_notice_url: string | null;
}

/** What the candidate page reads before joining (it sends for no interviewer). */
export interface CandidateWelcome {
  interview: CandidateJoin["interview"];
  consent: ConsentTerms;
  agreed: boolean;
}

export interface ConsentRecord {
  agreed: boolean;
  text_version: string;
  decided_at: string;
}

export interface CandidateJoin {
  token: string;
  livekit_url: string;
  room: string;
  identity: string;
  expires_in: number;
  interviewer?: InterviewerArrival;
  interview: {
    interview_id: string;
    candidate_name: string;
    role: string;
    mode: Mode;
    duration_minutes: number;
    question_count: number;
    language: string;
  };
}

export interface ObserverJoin {
  token: string;
  livekit_url: string;
  room: string;
  identity: string;
  expires_in: number;
  interview_id: string;
  candidate_identity: string;
}

export interface CreatedInterview {
  interview: Interview;
  invite: { url: string; secret: string };
  room: string;
  candidate_identity: string;
}

export interface InterviewPage {
  items: InterviewItem[];
  next_offset: number | null;
}

export interface CandidateFeedback {
  status: Status;
  final: string[];
  by_question: { ordinal: number; bullets: string[] }[];
}

export interface FieldError {
  loc: string[];
  msg: string;
  type: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }

  /** Validation messages by field name (the last part of each error's location). */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    if (this.code !== "validation_error" || !Array.isArray(this.details)) return out;
    for (const d of this.details as FieldError[]) {
      const field = d.loc[1] ?? d.loc[0] ?? "";
      if (!out[field]) out[field] = d.msg;
    }
    return out;
  }
}

export async function request<T>(
  path: string,
  init: { method?: string; body?: unknown; apiKey?: string; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  if (init.apiKey) headers.Authorization = `Bearer ${init.apiKey}`;
  let resp: Response;
  try {
    resp = await fetch(path, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
      cache: "no-store",
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "unreachable", "The interview server could not be reached.");
  }
  if (resp.ok) return (await resp.json()) as T;
  let code = "http_" + resp.status;
  let message = `The server answered ${resp.status}.`;
  let details: unknown = null;
  try {
    const body = (await resp.json()) as { error?: { code: string; message: string; details: unknown } };
    if (body.error) ({ code, message, details } = body.error);
  } catch {
    // not JSON: a proxy's page; keep the generic message
  }
  if (resp.status >= 502 && resp.status <= 504 && code.startsWith("http_")) code = "unreachable";
  throw new ApiError(resp.status, code, message, details);
}

export const api = {
  join: (secret: string) => request<CandidateJoin>("/api/join", { method: "POST", body: { secret } }),
  session: (secret: string) =>
    request<CandidateWelcome>("/api/join/session", { method: "POST", body: { secret } }),
  consent: (secret: string, decision: "agree" | "decline", textVersion: string) =>
    request<ConsentRecord>("/api/join/consent", {
      method: "POST",
      body: { secret, decision, text_version: textVersion },
    }),
  feedback: (secret: string) =>
    request<CandidateFeedback>("/api/join/feedback", { method: "POST", body: { secret } }),
  interviewer: (secret: string, retry = false, signal?: AbortSignal) =>
    request<InterviewerArrival>("/api/join/interviewer", { method: "POST", body: { secret, retry }, signal }),
  list: (apiKey: string) => request<InterviewPage>("/api/interviews?limit=100", { apiKey }),
  create: (apiKey: string, plan: InterviewPlan) =>
    request<CreatedInterview>("/api/interviews", { method: "POST", body: plan, apiKey }),
  observerToken: (apiKey: string, id: string) =>
    request<ObserverJoin>(`/api/interviews/${encodeURIComponent(id)}/observer-token`, {
      method: "POST",
      apiKey,
    }),
};

export function overall(s: Scores): number {
  return Math.round(((s.clarity + s.relevance + s.depth + s.accuracy) / 4) * 100) / 100;
}

// ---- question plans: the create flow's draft, the confirmed plan (issue 14, planweb) ----
// The shapes of interview/planning.py. The draft endpoint takes multipart (the résumé is a
// file); its errors name the field in `details.field`, the JSON endpoints' 422s in `loc`.

export type FollowUp = "none" | "one" | "open";
export type QuestionSource = "custom" | "bank" | "generated";

export const PLAN_LIMITS = {
  jobDescriptionChars: 20_000,
  resumeBytes: 2 * 1024 * 1024,
  resumePages: 10,
  customQuestions: 10,
  planQuestions: 20,
  summaryChars: 600,
  questionChars: [5, 500] as const,
  noteChars: 2000,
  timeLimitSeconds: [30, 900] as const,
};

/** The résumé types the server reads, by media type and by file name ending. */
export const RESUME_TYPES: Record<string, string> = {
  "application/pdf": ".pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
  "text/plain": ".txt",
};

export interface CustomQuestion {
  text: string;
  verbatim: boolean;
  ideal_answer: string | null;
  time_limit_s: number | null;
  follow_up: FollowUp;
}

export interface PlannedQuestion {
  text: string;
  source: QuestionSource;
  bank_question_id: string | null;
  topic: string;
  difficulty: number;
  verbatim: boolean;
  strong_answer: string | null;
  ideal_answer: string | null;
  time_limit_s: number | null;
  follow_up: FollowUp;
  rationale: string | null;
}

export interface QuestionPlan {
  questions: PlannedQuestion[];
  role_summary: string;
  candidate_summary: string;
}

export interface InterviewDocuments {
  job_description: string;
  resume_text: string;
  resume_filename: string | null;
  resume_pages: number | null;
}

export type DraftedBy = "model" | "offline" | "manual";

export interface PlanDraft {
  plan: QuestionPlan;
  documents: InterviewDocuments;
  drafted_by: DraftedBy;
  warnings: string[];
}

export interface StoredPlan extends QuestionPlan {
  id: string;
  interview_id: string;
  drafted_by: string;
  created_at: string | null;
}

export interface PlannedInterview extends InterviewPlan {
  question_plan: QuestionPlan;
  documents: InterviewDocuments | null;
  drafted_by: DraftedBy;
}

export interface DraftInput {
  settings: InterviewPlan;
  jobDescription: string;
  customQuestions: CustomQuestion[];
  resume: File | null;
}

async function errorOf(resp: Response): Promise<ApiError> {
  let code = "http_" + resp.status;
  let message = `The server answered ${resp.status}.`;
  let details: unknown = null;
  try {
    const body = (await resp.json()) as { error?: { code: string; message: string; details: unknown } };
    if (body.error) ({ code, message, details } = body.error);
  } catch {
    // not JSON: a proxy's page; keep the generic message
  }
  if (resp.status >= 502 && resp.status <= 504 && code.startsWith("http_")) code = "unreachable";
  return new ApiError(resp.status, code, message, details);
}

/** A multipart POST (the browser sets the boundary), with `request`'s error handling. */
async function postForm<T>(path: string, form: FormData, apiKey: string, signal?: AbortSignal): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch(path, {
      method: "POST",
      headers: { Accept: "application/json", Authorization: `Bearer ${apiKey}` },
      body: form,
      signal,
      cache: "no-store",
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "unreachable", "The interview server could not be reached.");
  }
  if (resp.ok) return (await resp.json()) as T;
  throw await errorOf(resp);
}

/** A validation error's location as one path: ["body", "question_plan", "questions", "2",
 * "text"] -> "question_plan.questions[2].text" (the spelling of `details.field`). */
export function fieldPath(loc: string[]): string {
  const parts = loc[0] === "body" ? loc.slice(1) : loc;
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

/** Every message of an error by the field it names: `details.field` (the draft endpoint's
 * own errors) or each validation error's location. Empty when the error names no field. */
export function errorsByField(err: ApiError): Record<string, string> {
  const out: Record<string, string> = {};
  const d = err.details as { field?: unknown } | FieldError[] | null;
  if (Array.isArray(d)) {
    for (const e of d) {
      const path = fieldPath(e.loc ?? []);
      if (path && !out[path]) out[path] = e.msg;
    }
  } else if (d && typeof d.field === "string" && d.field) {
    out[d.field] = err.message;
  }
  return out;
}

export const planApi = {
  draft: (apiKey: string, input: DraftInput, signal?: AbortSignal) => {
    const form = new FormData();
    form.append("settings", JSON.stringify(input.settings));
    if (input.jobDescription.trim()) form.append("job_description", input.jobDescription);
    if (input.customQuestions.length) form.append("custom_questions", JSON.stringify(input.customQuestions));
    if (input.resume) form.append("resume", input.resume, input.resume.name);
    return postForm<PlanDraft>("/api/interviews/plan-draft", form, apiKey, signal);
  },
  create: (apiKey: string, { documents, ...rest }: PlannedInterview) =>
    request<CreatedInterview>("/api/interviews", {
      method: "POST",
      body: documents ? { ...rest, documents } : rest,
      apiKey,
    }),
  stored: (apiKey: string, id: string) =>
    request<StoredPlan>(`/api/interviews/${encodeURIComponent(id)}/plan`, { apiKey }),
};
// ---- end of question plans (issue 14, planweb) ----
