import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { METRICS, type MetricDef, prometheusName } from "../../src/observe/metric-set.js";

const doc = readFileSync(new URL("../../docs/observability.md", import.meta.url), "utf8");

const KIND = {
  counter: "counter",
  updown: "up-down counter",
  gauge: "gauge",
  histogram: "histogram",
} as const;

function attributes(def: MetricDef): string {
  const common = def.scope === "flow" ? "flow" : "flow, stage";
  if (!def.split) return common;
  return `${common}, \`${def.split.attribute}\` (\`${def.split.label}\`): ${def.split.values.map((v) => `\`${v}\``).join(" ")}`;
}

/** The metric table of docs/observability.md, as the metric set makes it. */
function metricTable(): string {
  const rows = METRICS.map(
    (d) =>
      `| \`${d.name}\`<br>\`${prometheusName(d)}\` | ${KIND[d.kind]} | \`${d.unit}\` | ${attributes(d)} | ${d.description} | ${d.source} |`,
  );
  return [
    "| OpenTelemetry / Prometheus name | kind | unit | attributes (label) | meaning | read from |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

describe("docs/observability.md", () => {
  it("has the metric table the metric set makes (on a change, the diff shows the rows to paste)", () => {
    const between = /<!-- metrics:start -->\n([\s\S]*?)\n<!-- metrics:end -->/.exec(doc)?.[1];
    expect(between).toBe(metricTable());
  });

  it("names every metric, and the default buckets and label names it promises", () => {
    for (const d of METRICS) expect(doc).toContain(prometheusName(d));
    for (const label of ["flow", "stage", "state", "outcome", "reason"])
      expect(doc).toContain(`\`${label}\``);
  });
});
