import "@livekit/components-styles";
import "./styles.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { CandidatePage } from "./candidate/CandidatePage";
import { Dashboard } from "./interviewer/Dashboard";
import { KeyGate } from "./interviewer/key";
import { ObserverPage } from "./interviewer/ObserverPage";
import { ReportPage } from "./interviewer/ReportPage";

// Four pages, chosen by path: /join#<secret> (candidate), /observe/<id> (watch one interview),
// /report/<id> (its report and review), anything else (the interviewer's dashboard). The token
// server serves index.html for each.
function App() {
  const path = window.location.pathname.replace(/\/+$/, "");
  if (path === "/join") return <CandidatePage />;
  const observe = /^\/observe\/([0-9a-fA-F-]{36})$/.exec(path);
  const id = observe?.[1] ?? new URLSearchParams(window.location.search).get("observe");
  const report = /^\/report\/([0-9a-fA-F-]{36})$/.exec(path)?.[1];
  return (
    <KeyGate>
      {(key, signOut) =>
        report ? (
          <ReportPage apiKey={key} id={report} signOut={signOut} />
        ) : id ? (
          <ObserverPage apiKey={key} id={id} signOut={signOut} />
        ) : (
          <Dashboard apiKey={key} signOut={signOut} />
        )
      }
    </KeyGate>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
