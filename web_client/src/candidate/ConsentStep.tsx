import type { ConsentTerms } from "../api";

/** The consent text as the server sent it (the stored version names exactly this text), and
 * the "I agree" checkbox the join button waits for. */
export function ConsentStep({
  terms,
  agreed,
  already,
  onChange,
}: {
  terms: ConsentTerms;
  agreed: boolean;
  already: boolean;
  onChange: (agreed: boolean) => void;
}) {
  return (
    <section className="consent" aria-labelledby="consent-title" data-testid="consent" data-version={terms.version}>
      <h2 id="consent-title">Before you join</h2>
      {terms.text.map((paragraph, i) => (
        <p key={i}>{paragraph}</p>
      ))}
      {terms.privacy_notice_url && (
        <p>
          <a href={terms.privacy_notice_url} target="_blank" rel="noopener noreferrer" data-testid="privacy-notice">
            Read the privacy notice
          </a>
        </p>
      )}
      <label className="consent-agree">
        <input
          type="checkbox"
          checked={agreed}
          disabled={already}
          onChange={(e) => onChange(e.target.checked)}
          data-testid="consent-agree"
        />
        <span>
          I agree: an AI interviews me, and the transcript and the report are kept and shared as described above.
        </span>
      </label>
      {already && <p className="hint">You have already agreed; you can join again.</p>}
    </section>
  );
}

/** The end of an invite whose candidate did not agree. */
export function DeclinedScreen() {
  return (
    <section className="card" aria-labelledby="declined-title" data-testid="declined">
      <p className="eyebrow">Interview</p>
      <h1 id="declined-title">The interview will not take place</h1>
      <p>
        You did not agree to the AI interview, so nothing was recorded: only your decision is kept. The hiring
        team has been told and may contact you about another way forward.
      </p>
      <p className="hint">You can close this page.</p>
    </section>
  );
}
