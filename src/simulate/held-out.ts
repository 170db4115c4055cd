import { type BarCheck, lineAdder } from "./bar.js";
import type { ScenarioMetrics } from "./metrics.js";
import type { Scenario } from "./scenario.js";

/**
 * A held-out workload: a scenario no strategy was tuned on, with the lines it is judged by. The
 * lines are the bar's own kinds, fixed before any strategy was changed, so that a later reading
 * cannot move them.
 */
export interface HeldOut {
  /** The workload. */
  readonly scenario: Scenario;
  /** What the workload catches, in a few words. */
  readonly catches: string;
  /**
   * The service time the queue wait is judged against, ms: the mean processing time at the peak
   * (for a load-dependent dependency, the one at the reference count).
   */
  readonly serviceAtPeakMs: number;
  /** The lines: open workloads by throughput, cost and steady wait; a batch by time and cost. */
  readonly kind: "open" | "batch";
}

/**
 * Workloads held out from tuning: each differs from S1–S13 and from every case the strategies
 * were tuned on, each runs the real `Flow` in virtual time from one worker, three seeds. Their
 * N_ref came from a sweep of `FixedScaling` over N (three seeds, before any strategy change): the
 * fewest workers whose steady p99 queue wait is at most `serviceAtPeakMs` at a throughput ratio
 * ≥ 0.98, or for a batch the fewest that finish as fast as any pool. `npm run bench:scaling --
 * --held-out` runs that sweep again beside the strategies.
 */
export const HELD_OUT: readonly HeldOut[] = Object.freeze([
  {
    // A day compressed: arrivals rise linearly 50 → 900/s over 60 s and fall back over 60 s; no
    // step anywhere. λ·S goes 0.5 → 9; a fixed pool needs 2 at 50/s (p99 wait 7.7 ms; 1 worker:
    // 33 ms) and 12 at 900/s (6.2 ms; 11 workers: 10.5 ms). N_ref is taken linear between them
    // (square-root staffing is concave, so the ramp's true reference lies a little above: the cost
    // ratio is slightly strict). X_opt = λ(t).
    scenario: {
      id: "H1",
      title: "diurnal ramp 50 → 900 → 50/s over 120 s",
      phases: [
        { durationS: 60, rate: 50, rateTo: 900, nRef: 2, nRefTo: 12 },
        { durationS: 60, rate: 900, rateTo: 50, nRef: 12, nRefTo: 2 },
      ],
    },
    catches:
      "tracking a slow drift with no step: lag on the way up, shrinking on the way down, flapping on a moving target",
    serviceAtPeakMs: 10,
    kind: "open",
  },
  {
    // A dependency that slows with concurrency and has no hard cap (a database under lock
    // contention): S = 10 ms + 0.4 ms × calls in flight. 400/s for 20 s, then 1800/s for 60 s.
    // In flight L solves L = λ·(10 + 0.4 L)/1000: 4.8 at 400/s (S ≈ 12 ms), 64 at 1800/s
    // (S ≈ 36 ms). Sweep: 8 workers at 400/s (p99 wait 7 ms; 7: 12.7 ms), 73 at 1800/s (22.7 ms;
    // 72: 37.7 ms). With a backlog, N workers give N / (10 + 0.4 N) per ms: each doubling buys
    // less (40 → 80 is +24 %), but 45 workers carry only 1600/s. X_opt = λ.
    scenario: {
      id: "H2",
      title: "dependency slowing with concurrency (10 ms + 0.4 ms per call in flight), 400 → 1800/s",
      phases: [
        { durationS: 20, rate: 400, nRef: 8 },
        { durationS: 60, rate: 1800, nRef: 73 },
      ],
      latencyPerInFlightMs: 0.4,
    },
    catches:
      "diminishing returns read as a knee (a marginal test that stops where capacity is still below demand), or a drifting S that freezes the knee guard",
    serviceAtPeakMs: 36,
    kind: "open",
  },
  {
    // Heavy-tailed service at moderate load: Pareto, mean 20 ms, CV 3 (shape ≈ 2.05: p99 ≈ 95 ms,
    // the slowest of a run over a second). 300/s for 60 s, λ·S = 6. Sweep: 9 workers (steady p99
    // wait 15.7 ms; 8: 41 ms). X_opt = λ.
    scenario: {
      id: "H3",
      title: "heavy-tailed service (Pareto, mean 20 ms, CV 3), 300/s",
      phases: [{ durationS: 60, rate: 300, nRef: 9 }],
      serviceMs: 20,
      service: "pareto",
      serviceCv: 3,
    },
    catches:
      "noise in S and in completions: a knee test or a λ·S estimate fooled by rare slow calls, flapping on outliers",
    serviceAtPeakMs: 20,
    kind: "open",
  },
  {
    // A small batch of slow items into a small dependency: 5,000 items of 50 ms through a 16-slot
    // FIFO dependency, queue 256, maxWorkers 128. The knee is 16 (X_opt 320/s); FixedScaling(16)
    // finishes in 15.65 s with 250 worker-seconds, and any bigger pool in the same time (15: 16.7 s).
    scenario: {
      id: "H4",
      title: "batch of 5,000 × 50 ms into a 16-slot dependency, queue 256, maxWorkers 128",
      phases: [{ durationS: 120, rate: 0, xOpt: 320, nRef: 16 }],
      serviceMs: 50,
      batchItems: 5000,
      queueSize: 256,
      maxWorkers: 128,
      dependencySlots: 16,
    },
    catches:
      "slow start that must find a small knee in a short job with slow items (few completions per measurement), without paying for 128 workers",
    serviceAtPeakMs: 50,
    kind: "batch",
  },
  {
    // Slow calls at a low rate (a model or webhook API): lognormal, mean 1 s, CV 0.5 (p99 ≈ 2.6 s);
    // 10/s for 60 s, then 40/s for 120 s. λ·S = 10 → 40. Sweep: 12 workers at 10/s (steady p99
    // wait 885 ms; 11: 2.1 s), 43 at 40/s (722 ms; 42: 1.1 s). X_opt = λ.
    scenario: {
      id: "H5",
      title: "slow calls (lognormal 1 s, CV 0.5), 10 → 40/s",
      phases: [
        { durationS: 60, rate: 10, nRef: 12 },
        { durationS: 120, rate: 40, nRef: 43 },
      ],
      serviceMs: 1000,
      service: "lognormal",
      serviceCv: 0.5,
    },
    catches:
      "time constants made for 10 ms work: windows and knee tests that see only a few completions, a down window shorter than one call",
    serviceAtPeakMs: 1000,
    kind: "open",
  },
]);

/**
 * Checks one strategy's mean figures on the held-out workloads against their lines: an open
 * workload by throughput ratio ≥ 0.98, cost ≤ 1.3, steady p99 wait ≤ 2 × `serviceAtPeakMs` and at
 * most 1 reversal per 10 s; a batch by completion time ≤ 1.15 × and worker-seconds ≤ 1.3 × the
 * reference's (`reference`: `FixedScaling(N_ref)` on the same job) and p99 processing ≤ 2 × S.
 */
export function checkHeldOut(
  means: Readonly<Record<string, ScenarioMetrics>>,
  reference: Readonly<Record<string, ScenarioMetrics>>,
): BarCheck[] {
  const out: BarCheck[] = [];
  const add = lineAdder(out);
  for (const h of HELD_OUT) {
    const id = h.scenario.id;
    const m = means[id];
    if (!m) continue;
    if (h.kind === "open") {
      add(id, "throughput ratio", m.throughputRatio, "≥ 0.98", m.throughputRatio >= 0.98);
      add(id, "cost ratio", m.costRatio, "≤ 1.3", m.costRatio <= 1.3);
      const wait = 2 * h.serviceAtPeakMs;
      add(id, "steady p99 wait ms", m.p99WaitSteadyMs, `≤ ${wait}`, m.p99WaitSteadyMs <= wait);
    } else {
      const ref = reference[id];
      const time = ref ? m.completionS / ref.completionS : Number.NaN;
      const cost = ref ? m.workerSeconds / ref.workerSeconds : Number.NaN;
      add(id, "time × reference", time, "≤ 1.15", time <= 1.15);
      add(id, "worker-s × reference", cost, "≤ 1.3", cost <= 1.3);
      const proc = 2 * h.serviceAtPeakMs;
      add(id, "p99 processing ms", m.p99ProcessingMs, `≤ ${proc}`, m.p99ProcessingMs <= proc);
    }
    add(id, "reversals per 10 s", m.reversalsPer10s, "≤ 1", m.reversalsPer10s <= 1);
  }
  return out;
}
