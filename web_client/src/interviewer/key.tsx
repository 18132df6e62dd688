import { type FormEvent, type ReactNode, useCallback, useState } from "react";
import { ApiError, api } from "../api";

const KEY = "interview-room.api-key";

export function storedKey(): string | null {
  return window.sessionStorage.getItem(KEY);
}

export function forgetKey(): void {
  window.sessionStorage.removeItem(KEY);
}

/** Asks for the interviewer API key once per browser tab (sessionStorage: gone when the tab
 * closes, never sent anywhere but this server's API). */
export function KeyGate({ children }: { children: (key: string, signOut: () => void) => ReactNode }) {
  const [key, setKey] = useState<string | null>(storedKey);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const signOut = useCallback(() => {
    forgetKey();
    setKey(null);
    setDraft("");
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const candidate = draft.trim();
    if (!candidate) return setError("Enter your API key.");
    setBusy(true);
    try {
      await api.list(candidate); // proves the key before keeping it
      window.sessionStorage.setItem(KEY, candidate);
      setKey(candidate);
      setError(null);
    } catch (err) {
      const e2 = err as ApiError;
      setError(e2.status === 401 ? "This API key is not valid." : e2.message);
    } finally {
      setBusy(false);
    }
  };

  if (key)
    return (
      <>
        {children(key, signOut)}
      </>
    );
  return (
    <main className="page">
      <section className="card narrow" aria-labelledby="key-title">
        <p className="eyebrow">Interview room</p>
        <h1 id="key-title">Interviewer sign-in</h1>
        <form onSubmit={(e) => void submit(e)} noValidate>
          <div className="field">
            <label htmlFor="api-key">API key</label>
            <input
              id="api-key"
              type="password"
              autoComplete="current-password"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? "api-key-error" : "api-key-hint"}
            />
            <p id="api-key-hint" className="hint">
              Kept in this tab only, until you close it.
            </p>
            {error && (
              <p id="api-key-error" className="field-error" role="alert">
                {error}
              </p>
            )}
          </div>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Checking…" : "Continue"}
          </button>
        </form>
      </section>
    </main>
  );
}
