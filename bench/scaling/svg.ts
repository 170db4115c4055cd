import type { Scenario } from "../../src/simulate/scenario.js";
import { peakRef } from "../../src/simulate/strategies.js";

const COLORS: Record<string, string> = {
  adaptive: "#d62728",
  "target-utilization": "#1f77b4",
  throughput: "#2ca02c",
  "latency-budget": "#9467bd",
  utilization: "#ff7f0e",
  fixed: "#7f7f7f",
};

/** A small chart of workers over time, one line per strategy, with N_ref dashed. */
export function workersChart(
  scenario: Scenario,
  lines: Readonly<Record<string, readonly (readonly [number, number])[]>>,
  durationMs: number,
): string {
  const W = 560;
  const H = 190;
  const left = 36;
  const right = 120;
  const top = 22;
  const bottom = 24;
  const peak = peakRef(scenario);
  let top_ = peak;
  for (const pts of Object.values(lines)) for (const [, n] of pts) top_ = Math.max(top_, n);
  const yMax = Math.min(top_, peak * 4) * 1.1;
  const x = (t: number): number => left + ((W - left - right) * t) / durationMs;
  const y = (n: number): number => top + (H - top - bottom) * (1 - Math.min(n, yMax) / yMax);
  const step = (pts: readonly (readonly [number, number])[]): string => {
    let d = "";
    let prev: number | null = null;
    for (const [t, n] of pts) {
      if (t > durationMs) break;
      d +=
        prev === null ? `M${x(t).toFixed(1)},${y(n).toFixed(1)}` : `H${x(t).toFixed(1)}V${y(n).toFixed(1)}`;
      prev = n;
    }
    return `${d}H${x(durationMs).toFixed(1)}`;
  };
  const ref: [number, number][] = [];
  let t = 0;
  for (const p of scenario.phases) {
    ref.push([t, p.nRef]);
    t += p.durationS * 1000;
  }
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">`,
    `<title>${scenario.id}: workers over time per strategy, with N_ref dashed</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="13" font-size="11" font-weight="bold">${scenario.id}: ${scenario.title ?? ""} — workers over time (seed 1)</text>`,
    `<line x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}" stroke="#999"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}" stroke="#999"/>`,
    `<text x="${left - 4}" y="${y(0) + 3}" text-anchor="end">0</text>`,
    `<text x="${left - 4}" y="${y(yMax / 1.1) + 3}" text-anchor="end">${Math.round(yMax / 1.1)}</text>`,
    `<text x="${W - right}" y="${H - 8}" text-anchor="end">${durationMs / 1000} s</text>`,
    `<path d="${step(ref)}" fill="none" stroke="#000" stroke-dasharray="4 3" stroke-width="1"/>`,
  ];
  let ly = top + 4;
  parts.push(`<text x="${W - right + 8}" y="${ly + 3}">N_ref</text>`);
  parts.push(
    `<line x1="${W - right + 40}" y1="${ly}" x2="${W - right + 60}" y2="${ly}" stroke="#000" stroke-dasharray="4 3"/>`,
  );
  // Drawn last to first, so that the first strategy (adaptive) is on top.
  for (const [name, pts] of Object.entries(lines).reverse()) {
    const c = COLORS[name] ?? "#000";
    const width = name === "adaptive" ? 2 : 1.2;
    parts.push(`<path d="${step(pts)}" fill="none" stroke="${c}" stroke-width="${width}" opacity="0.85"/>`);
  }
  for (const name of Object.keys(lines)) {
    ly += 14;
    parts.push(`<text x="${W - right + 8}" y="${ly + 3}">${name}</text>`);
  }
  parts.push("</svg>");
  // Legend swatches drawn after the names so they sit to the left of nothing else.
  let sy = top + 4;
  const swatches: string[] = [];
  for (const name of Object.keys(lines)) {
    sy += 14;
    swatches.push(
      `<line x1="${W - 14}" y1="${sy}" x2="${W - 4}" y2="${sy}" stroke="${COLORS[name] ?? "#000"}" stroke-width="3"/>`,
    );
  }
  parts.splice(parts.length - 1, 0, ...swatches);
  return parts.join("\n");
}
