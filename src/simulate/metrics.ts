import type { Histogram } from "hdr-histogram-js";
import type { Phase } from "./scenario.js";
import { BIN_MS, phaseStarts, type RunRecord } from "./run-record.js";

/** The figures the scenario bar judges, for one run (docs/scaling.md defines each). */
export interface ScenarioMetrics {
  /** Completions / ∫ X_opt dt. */
  throughputRatio: number;
  /** Worst time to ≥ 90 % of X_opt held for 2 s after an upward change, s (`Infinity`: never). */
  t90S: number;
  /** Worker-seconds / ∫ N_ref dt. */
  costRatio: number;
  /** Peak workers / the highest N_ref − 1. */
  overshoot: number;
  /** The most workers the stage ran at once. */
  peakWorkers: number;
  /** p99 queue wait of all items, ms. */
  p99WaitMs: number;
  /** p99 queue wait of items dequeued more than 10 s after a change, ms (`NaN`: none). */
  p99WaitSteadyMs: number;
  /** p99 processing time, ms: the latency inflicted on a dependency. */
  p99ProcessingMs: number;
  /** Changes of the worker count. */
  scaleEvents: number;
  /** Direction changes less than 5 s apart. */
  reversals: number;
  /** Reversals per 10 s of run. */
  reversalsPer10s: number;
  /** Worst time from a downward change of N_ref until the count is near it, s (`NaN`: no such change). */
  tDownS: number;
  /** Worker-seconds over the run (a batch: until its last item). */
  workerSeconds: number;
  /** A batch: when its last item completed, s (`Infinity`: not within the time limit; `NaN`: no batch). */
  completionS: number;
  /** Mean worker count from 10 s after the last change of workload to the end (`NaN`: none that late). */
  steadyWorkers: number;
  /** Calls refused as overloaded / calls, after the first 5 s (`NaN`: no overloading dependency). */
  overloadShare: number;
  /** Items that failed for good. */
  failedItems: number;
}

/** Hold time of the T90 test, and the trailing window the completion rate is read over. */
const HOLD_MS = 2000;
const RATE_BINS = 5;

/** A count "near" N_ref: within a quarter, and at least one, above it. */
export const nearRef = (nRef: number): number => nRef + Math.max(1, Math.ceil(nRef * 0.25));

/** X_opt at a phase's start and end (a ramp's follows its rate unless `xOpt` is set). */
const xOptFrom = (p: Phase): number => p.xOpt ?? p.rate;
const xOptTo = (p: Phase): number => p.xOpt ?? p.rateTo ?? p.rate;

/** ∫ over the first `s` of `length` seconds of a value going linearly from `a` to `b`. */
const linearIntegral = (a: number, b: number, length: number, s: number): number =>
  length > 0 ? a * s + ((b - a) * s * s) / (2 * length) : 0;

const p99 = (h: Histogram): number => (h.totalCount === 0 ? Number.NaN : h.getValueAtPercentile(99) / 1000);

/**
 * Computes the metrics of one run. T90 compares completions with the arrivals actually offered
 * over the same trailing 500 ms (capped at X_opt), so that Poisson noise in the arrivals is not
 * read as a slow controller; "holds" means every 100 ms bin for 2 s (or half the phase, when the
 * phase is shorter than 4 s). The trailing window makes T90 conservative: even an instant
 * controller reads 0.3–0.4 s.
 */
export function computeMetrics(r: RunRecord): ScenarioMetrics {
  const { scenario, completions, offered, timeline } = r;
  const batch = scenario.batchItems !== undefined;
  // A batch's run is over when its last item is.
  const durationMs = batch && Number.isFinite(r.completedAtMs) ? r.completedAtMs : r.durationMs;
  const phases = scenario.phases;
  const starts = phaseStarts(scenario);
  let xOptIntegral = 0;
  let nRefIntegral = 0;
  let maxRef = 0;
  for (let i = 0; i < phases.length; i++) {
    const p = phases[i]!;
    // A batch that ended early is judged over the time it took.
    const s = Math.max(0, Math.min(durationMs, starts[i + 1]!) - starts[i]!) / 1000;
    const length = (starts[i + 1]! - starts[i]!) / 1000;
    xOptIntegral += linearIntegral(xOptFrom(p), xOptTo(p), length, s);
    nRefIntegral += linearIntegral(p.nRef, p.nRefTo ?? p.nRef, length, s);
    maxRef = Math.max(maxRef, p.nRef, p.nRefTo ?? 0);
  }
  let done = 0;
  for (const c of completions) done += c;

  // Worker-seconds, peak, scale events and reversals from the timeline.
  let workerMs = 0;
  let peak = 0;
  let reversals = 0;
  let lastDir = 0;
  let lastAt = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < timeline.length; i++) {
    const [t, n] = timeline[i]!;
    const until = Math.min(durationMs, i + 1 < timeline.length ? timeline[i + 1]![0] : durationMs);
    if (t < durationMs) workerMs += n * Math.max(0, until - t);
    if (t < durationMs) peak = Math.max(peak, n);
    if (i > 0 && t < durationMs) {
      const dir = Math.sign(n - timeline[i - 1]![1]);
      if (dir !== 0) {
        if (lastDir !== 0 && dir !== lastDir && t - lastAt < 5000) reversals++;
        lastDir = dir;
        lastAt = t;
      }
    }
  }
  const lastChange = starts[starts.length - 2]!;
  const steadyFrom = lastChange + 10_000;
  let steadyMs = 0;
  for (let i = 0; i < timeline.length; i++) {
    const [t, n] = timeline[i]!;
    const from = Math.max(t, steadyFrom);
    const until = Math.min(durationMs, i + 1 < timeline.length ? timeline[i + 1]![0] : durationMs);
    if (until > from) steadyMs += n * (until - from);
  }
  const scaleEvents = timeline.filter(([t], i) => i > 0 && t < durationMs).length;

  // T90 after each upward change (the start counts: every run starts from the initial count).
  let t90 = 0;
  const bins = Math.floor(durationMs / BIN_MS);
  const okAt = (b: number): boolean => {
    let c = 0;
    let o = 0;
    for (let k = Math.max(0, b - RATE_BINS + 1); k <= b; k++) {
      c += completions[k]!;
      o += offered[k]!;
    }
    const xOpt = xOptAtBin(b);
    const target = Math.min(o, (xOpt * RATE_BINS * BIN_MS) / 1000);
    return c >= 0.9 * target;
  };
  const xOptAtBin = (b: number): number => {
    const t = b * BIN_MS;
    let i = 0;
    while (i < phases.length - 1 && t >= starts[i + 1]!) i++;
    const p = phases[i]!;
    const from = xOptFrom(p);
    const to = xOptTo(p);
    return to === from ? from : from + ((to - from) * (t - starts[i]!)) / (starts[i + 1]! - starts[i]!);
  };
  for (let i = 0; i < phases.length; i++) {
    const p = phases[i]!;
    const prev = i > 0 ? phases[i - 1]! : null;
    // A rising ramp is an upward change too, from its start.
    const up =
      prev === null ||
      xOptFrom(p) > xOptTo(prev) ||
      p.nRef > (prev.nRefTo ?? prev.nRef) ||
      xOptTo(p) > xOptFrom(p);
    if (!up || Math.max(xOptFrom(p), xOptTo(p)) === 0) continue;
    const from = starts[i]! / BIN_MS;
    const end = starts[i + 1]! / BIN_MS;
    const hold = Math.max(1, Math.min(HOLD_MS / BIN_MS, Math.floor((end - from) / 2)));
    let found = Number.POSITIVE_INFINITY;
    let run = 0;
    for (let b = from; b < Math.min(end, bins); b++) {
      run = okAt(b) ? run + 1 : 0;
      if (run >= hold) {
        found = ((b - hold + 1 - from) * BIN_MS) / 1000;
        break;
      }
    }
    t90 = Math.max(t90, found);
  }

  // t_down: after each downward change of N_ref, until the count is near the new N_ref.
  let tDown = Number.NaN;
  for (let i = 1; i < phases.length; i++) {
    const prev = phases[i - 1]!;
    if (phases[i]!.nRef >= (prev.nRefTo ?? prev.nRef)) continue;
    const at = starts[i]!;
    const limit = nearRef(phases[i]!.nRef);
    let reached = Number.POSITIVE_INFINITY;
    let before = 0;
    for (const [t, count] of timeline) if (t <= at) before = count;
    if (before <= limit) reached = 0;
    else
      for (const [t, count] of timeline)
        if (t > at && t < starts[i + 1]! && count <= limit) {
          reached = (t - at) / 1000;
          break;
        }
    tDown = Number.isNaN(tDown) ? reached : Math.max(tDown, reached);
  }

  return {
    throughputRatio: xOptIntegral > 0 ? done / xOptIntegral : Number.NaN,
    t90S: t90,
    costRatio: workerMs / 1000 / nRefIntegral,
    overshoot: peak / maxRef - 1,
    peakWorkers: peak,
    p99WaitMs: p99(r.waitAll),
    p99WaitSteadyMs: p99(r.waitSteady),
    p99ProcessingMs: p99(r.processing),
    scaleEvents,
    reversals,
    reversalsPer10s: reversals / (durationMs / 10_000),
    tDownS: tDown,
    workerSeconds: workerMs / 1000,
    completionS: batch
      ? Number.isFinite(r.completedAtMs)
        ? r.completedAtMs / 1000
        : Number.POSITIVE_INFINITY
      : Number.NaN,
    steadyWorkers: durationMs > steadyFrom ? steadyMs / (durationMs - steadyFrom) : Number.NaN,
    overloadShare: scenario.overload ? r.overloadsAfterWarmup / Math.max(1, r.callsAfterWarmup) : Number.NaN,
    failedItems: r.failedItems,
  };
}
