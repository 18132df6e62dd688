import type { ReactNode } from "react";

export function Notice({
  tone,
  title,
  children,
  testId,
  headingId,
  code,
}: {
  tone: "error" | "info" | "warning";
  title: string;
  children?: ReactNode;
  testId?: string;
  headingId?: string;
  code?: string;
}) {
  return (
    <div
      className={`notice notice-${tone}`}
      role={tone === "error" ? "alert" : "status"}
      data-testid={testId}
      data-code={code}
    >
      <h2 id={headingId} className="notice-title">
        {title}
      </h2>
      {children}
    </div>
  );
}
