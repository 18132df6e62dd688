import { RUBRICS, rubricLabel, type Report, type Rubric } from "../reportApi";

// Plain SVG, not a chart library: one grouped bar chart of integers 1-5 is ~60 lines, needs no
// ResizeObserver or canvas (so it prints as crisp vectors in the PDF and renders before print),
// and keeps the bundle as it is.
const COLORS: Record<Rubric, string> = {
  clarity: "#2457d6",
  relevance: "#0e9384",
  depth: "#b54708",
  accuracy: "#7a5af8",
};

const H = 160; // plot height in SVG units
const TOP = 8;
const LEFT = 22;
const BAR = 9;
const GAP = 2;
const GROUP_GAP = 16;

interface Group {
  label: string;
  values: Record<Rubric, number | null>;
}

function groups(report: Report): Group[] {
  const out: Group[] = report.questions.map((q) => ({
    label: `Q${q.ordinal}`,
    values: Object.fromEntries(RUBRICS.map((r) => [r, q.scores[r]?.effective ?? null])) as Record<Rubric, number | null>,
  }));
  out.push({ label: "Overall", values: report.overall });
  return out;
}

/** The four rubric scores (override-aware) per question and overall, 0-5 scale. */
export function ScoreChart({ report }: { report: Report }) {
  const data = groups(report);
  const groupW = RUBRICS.length * (BAR + GAP) - GAP;
  // At least as wide as a phone's chart is tall-ish, so few questions do not make tall bars.
  const width = Math.max(360, LEFT + data.length * (groupW + GROUP_GAP));
  const slot = (width - LEFT) / data.length;
  const y = (v: number) => TOP + H - (v / 5) * H;
  const summary = data
    .map((g) => `${g.label}: ${RUBRICS.map((r) => `${r} ${g.values[r] ?? "not scored"}`).join(", ")}`)
    .join("; ");
  return (
    <figure className="chart" data-testid="score-chart">
      <svg
        viewBox={`0 0 ${width} ${TOP + H + 22}`}
        role="img"
        aria-label={`Rubric scores from 1 to 5. ${summary}`}
        preserveAspectRatio="xMinYMin meet"
      >
        {[1, 2, 3, 4, 5].map((v) => (
          <g key={v}>
            <line x1={LEFT - 4} x2={width} y1={y(v)} y2={y(v)} className="chart-grid" />
            <text x={LEFT - 7} y={y(v) + 3} className="chart-axis" textAnchor="end">
              {v}
            </text>
          </g>
        ))}
        {data.map((g, gi) => {
          const x0 = LEFT + gi * slot + (slot - groupW) / 2;
          return (
            <g key={g.label} data-group={g.label}>
              {RUBRICS.map((r, ri) => {
                const v = g.values[r];
                if (v === null || v === undefined) return null;
                return (
                  <rect
                    key={r}
                    x={x0 + ri * (BAR + GAP)}
                    y={y(v)}
                    width={BAR}
                    height={TOP + H - y(v)}
                    fill={COLORS[r]}
                    data-rubric={r}
                    data-value={v}
                  >
                    <title>{`${g.label} ${rubricLabel(r)}: ${Number.isInteger(v) ? v : v.toFixed(2)}`}</title>
                  </rect>
                );
              })}
              <text x={x0 + groupW / 2} y={TOP + H + 15} className="chart-label" textAnchor="middle">
                {g.label}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="chart-legend">
        {RUBRICS.map((r) => (
          <span key={r}>
            <i style={{ background: COLORS[r] }} aria-hidden="true" /> {rubricLabel(r)}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
