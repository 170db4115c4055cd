import type { ScenarioMetrics } from "./metrics.js";

/** One line of the scenario bar (docs/scaling.md), checked against measured figures. */
export interface BarCheck {
  /** The scenario's id. */
  readonly scenario: string;
  /** What was measured. */
  readonly metric: string;
  /** The figure. */
  readonly measured: number;
  /** The line it is held to, as text (`≤ 1.25`). */
  readonly limit: string;
  /** Whether the figure meets the line. */
  readonly pass: boolean;
}

/** A function that appends one checked line to `out` (what every bar check writes with). */
export function lineAdder(
  out: BarCheck[],
): (scenario: string, metric: string, measured: number, limit: string, pass: boolean) => void {
  return (scenario, metric, measured, limit, pass) => {
    out.push({ scenario, metric, measured, limit, pass });
  };
}

const THROUGHPUT = ["S1", "S2", "S3", "S4", "S5", "S5b", "S6", "S7", "S8", "S9"];
const T90_FAST = ["S1", "S2", "S4", "S9"];
const T90_SLOW = ["S5", "S5b", "S6"];
const COST = ["S1", "S2", "S5", "S5b", "S8", "S9"];
const STEADY_WAIT = ["S1", "S2", "S5b", "S6", "S9"];

/**
 * Checks the default strategy's mean metrics per scenario against the bar of S1–S9.
 * `serviceMs` is each scenario's nominal processing time (the "S" of "2·S"); `downWindowS` the
 * strategy's down-stabilization window (S3 must be near N_ref within it + 2 s).
 */
export function checkBar(
  means: Readonly<Record<string, ScenarioMetrics>>,
  serviceMs: (id: string) => number,
  downWindowS: number,
): BarCheck[] {
  const out: BarCheck[] = [];
  const add = lineAdder(out);
  for (const id of Object.keys(means)) {
    const m = means[id]!;
    if (THROUGHPUT.includes(id))
      add(id, "throughput ratio", m.throughputRatio, "≥ 0.98", m.throughputRatio >= 0.98);
    if (T90_FAST.includes(id)) add(id, "T90 s", m.t90S, "≤ 1.0", m.t90S <= 1.0);
    if (T90_SLOW.includes(id)) add(id, "T90 s", m.t90S, "≤ 2.5", m.t90S <= 2.5);
    if (COST.includes(id)) add(id, "cost ratio", m.costRatio, "≤ 1.25", m.costRatio <= 1.25);
    if (STEADY_WAIT.includes(id)) {
      const limit = 2 * serviceMs(id);
      add(id, "steady p99 wait ms", m.p99WaitSteadyMs, `≤ ${limit}`, m.p99WaitSteadyMs <= limit);
    }
    if (id === "S3") add(id, "t_down s", m.tDownS, `≤ ${downWindowS + 2}`, m.tDownS <= downWindowS + 2);
    add(id, "reversals per 10 s", m.reversalsPer10s, "≤ 1", m.reversalsPer10s <= 1);
  }
  return out;
}

/** The mean of each metric over several runs (∞ stays ∞; NaN where every run had none). */
export function meanMetrics(runs: readonly ScenarioMetrics[]): ScenarioMetrics {
  const keys = Object.keys(runs[0]!) as (keyof ScenarioMetrics)[];
  const out = {} as Record<keyof ScenarioMetrics, number>;
  for (const k of keys) {
    const values = runs.map((r) => r[k]).filter((v) => !Number.isNaN(v));
    out[k] = values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
  }
  return out;
}

/** A limit compared with a histogram reading allows the histogram's resolution (3 significant digits). */
const HDR_RESOLUTION = 1.001;

/**
 * Checks the default strategy against the lines of the bar for S7 and S10–S13: `means` are
 * its mean metrics, `references` those of `fixed` on the same scenario (the reference of S7, S10
 * and S11: a pool at N_ref, which there is the burst size, `maxWorkers` or the knee).
 */
export function checkBeyondBar(
  means: Readonly<Record<string, ScenarioMetrics>>,
  references: Readonly<Record<string, ScenarioMetrics>>,
): BarCheck[] {
  const out: BarCheck[] = [];
  const add = lineAdder(out);
  const times = (id: string, m: ScenarioMetrics, factor: number): void => {
    const ref = references[id];
    if (!ref) return;
    const ratio = m.completionS / ref.completionS;
    add(id, "completion × fixed", ratio, `≤ ${factor.toFixed(2)}`, ratio <= factor);
  };
  for (const id of Object.keys(means)) {
    const m = means[id]!;
    const ref = references[id];
    switch (id) {
      case "S7":
        if (ref)
          add(
            id,
            "cost ratio",
            m.costRatio,
            `≤ ${ref.costRatio.toFixed(2)} (fixed)`,
            m.costRatio <= ref.costRatio,
          );
        add(id, "p99 wait ms", m.p99WaitMs, "≤ 100", m.p99WaitMs <= 100);
        break;
      case "S10":
      case "S10b":
        times(id, m, 1.15);
        break;
      case "S11":
        times(id, m, 1.1);
        if (ref) {
          const ratio = m.workerSeconds / ref.workerSeconds;
          add(id, "worker-s × fixed", ratio, "≤ 1.30", ratio <= 1.3);
        }
        // ≤ 2·S, read at the histogram's resolution (3 significant digits: 20 ms reads 20.015).
        add(id, "p99 proc ms", m.p99ProcessingMs, "≤ 20", m.p99ProcessingMs <= 20 * HDR_RESOLUTION);
        break;
      case "S12":
        add(id, "throughput ratio", m.throughputRatio, "≥ 0.98", m.throughputRatio >= 0.98);
        add(id, "cost ratio", m.costRatio, "≤ 1.3", m.costRatio <= 1.3);
        add(id, "peak workers", m.peakWorkers, "≤ 48", m.peakWorkers <= 48);
        add(id, "reversals per 10 s", m.reversalsPer10s, "≤ 1", m.reversalsPer10s <= 1);
        break;
      case "S13":
        add(id, "throughput ratio", m.throughputRatio, "≥ 0.95", m.throughputRatio >= 0.95);
        add(id, "overload share", m.overloadShare, "≤ 0.02", m.overloadShare <= 0.02);
        add(id, "steady workers", m.steadyWorkers, "45–60", m.steadyWorkers >= 45 && m.steadyWorkers <= 60);
        add(id, "failed items", m.failedItems, "= 0", m.failedItems === 0);
        add(id, "reversals per 10 s", m.reversalsPer10s, "≤ 1", m.reversalsPer10s <= 1);
        break;
    }
  }
  return out;
}
