import { z } from "zod";
import { between, ms, name, whole } from "../internal/option-fields.js";
import {
  check,
  issue,
  notAbove,
  type OptionsInput,
  optionsArray,
  optionsObject,
  parseOptions,
} from "../internal/parse-options.js";
import { STAGE_DEFAULTS } from "../model/options.js";
import { workerCount } from "../scaling/worker-limits.js";

/** A scenario's settings when it leaves them out. */
export const SCENARIO_DEFAULTS = Object.freeze({
  serviceMs: 10,
  service: "constant" as "constant" | "exponential" | "lognormal" | "pareto",
  serviceCv: 1,
  queueSize: STAGE_DEFAULTS.queueSize,
  initialWorkers: 1,
  maxWorkers: 256,
});

/** The longest scenario: a day (the run keeps a counter per 100 ms). */
const MAX_DURATION_S = 86_400;

const rate = () =>
  check<number>(
    (v) => typeof v === "number" && Number.isFinite(v) && v >= 0,
    "a finite rate ≥ 0 (items per second)",
  );

const phaseShape = {
  /** Length, in seconds. */
  durationS: check<number>(
    (v) => typeof v === "number" && v > 0 && v <= MAX_DURATION_S,
    `a number of seconds > 0 and ≤ ${MAX_DURATION_S}`,
  ),
  /** Poisson arrivals per second (0 for silence). */
  rate: rate(),
  /**
   * A ramp: the arrival rate changes linearly from `rate` at the phase's start to this at its end
   * (a diurnal rise, a drain). X_opt follows the rate unless `xOpt` is set. @defaultValue `rate`
   */
  rateTo: rate().optional(),
  /** Mean processing time in this phase, ms. @defaultValue the scenario's `serviceMs` */
  serviceMs: ms({ above: true }).optional(),
  /** The most completions per second physically possible. @defaultValue `rate` */
  xOpt: rate().optional(),
  /** The fewest workers whose steady p99 queue wait is ≤ one service time (or the knee). */
  nRef: workerCount(1),
  /** With a ramp, N_ref at the phase's end: it changes linearly from `nRef`. @defaultValue `nRef` */
  nRefTo: workerCount(1).optional(),
};

const phaseSchema: z.ZodType<Phase, Phase> = optionsObject(phaseShape);

const downstreamShape = {
  /** Its fixed pool. */
  workers: workerCount(1),
  /** Its constant processing time, ms. */
  serviceMs: ms({ above: true }),
  /** Its input queue. */
  queueSize: whole(1),
};

/** A next stage with a fixed pool, fed by the stage under test. */
export interface Downstream extends OptionsInput<typeof downstreamShape> {}

const downstreamSchema: z.ZodType<Downstream, Downstream> = optionsObject(downstreamShape);

const overloadShape = {
  /** Calls in flight above this fail (the dependency's capacity). */
  maxInFlight: whole(1),
  /** How long a refused call takes to fail, ms. @defaultValue 1 */
  failMs: ms().default(1),
};

/** A dependency that refuses calls past its capacity with an overload error (HTTP 429). */
export interface Overload extends OptionsInput<typeof overloadShape> {}

const overloadSchema = optionsObject(overloadShape);

const scenarioShape = {
  /** A short name (`S1`, `mine`). */
  id: name(),
  /** What the workload is, in a few words. */
  title: check<string>((v) => typeof v === "string", "a string").optional(),
  /** The stretches of constant workload, in order. */
  phases: optionsArray(phaseSchema).check((ctx) => {
    if (ctx.value.length === 0) ctx.issues.push(issue([], ctx.value, "at least one phase"));
  }),
  /** Mean processing time, ms. @defaultValue 10 */
  serviceMs: ms({ above: true }).default(SCENARIO_DEFAULTS.serviceMs),
  /**
   * Processing-time distribution: `constant`, `exponential`, or `lognormal` or `pareto` (heavy
   * tailed: a few calls take many times the mean) with `serviceCv`. @defaultValue "constant"
   */
  service: z
    .enum(["constant", "exponential", "lognormal", "pareto"], {
      error: '"constant", "exponential", "lognormal" or "pareto"',
    })
    .default(SCENARIO_DEFAULTS.service),
  /** Coefficient of variation of a lognormal or Pareto processing time. @defaultValue 1 */
  serviceCv: between(0, 100).default(SCENARIO_DEFAULTS.serviceCv),
  /** The stage's input queue. @defaultValue 1024 */
  queueSize: whole(1).default(SCENARIO_DEFAULTS.queueSize),
  /** Every call goes through a FIFO semaphore with this many slots. */
  dependencySlots: whole(1).optional(),
  /** A next stage with a fixed pool: the stage under test feeds it. */
  downstream: downstreamSchema.optional(),
  /**
   * A batch job instead of Poisson arrivals: this many items ready at t = 0, the source a list
   * that blocks on the stage's full queue. The run ends when the last one is done (the phases
   * give its N_ref, X_opt and a time limit).
   */
  batchItems: whole(1).optional(),
  /** The call goes to a dependency that fails at once, with an overload error, past its capacity. */
  overload: overloadSchema.optional(),
  /** The stage retries a failed call, with this many attempts in all (the stage's `retry` option). */
  retryAttempts: whole(1).optional(),
  /**
   * A dependency that slows as load grows: each call takes this much longer, ms, per call in
   * flight when it starts (itself included). No hard cap, so extra concurrency buys less and less.
   */
  latencyPerInFlightMs: ms().optional(),
  /** Each worker's `perWorker` setup takes this long, ms (slow-starting workers). */
  startupMs: ms().optional(),
  /** Workers the stage starts with (the adaptive strategies; `utilization` starts at its minimum). @defaultValue 1 */
  initialWorkers: workerCount(1).default(SCENARIO_DEFAULTS.initialWorkers),
  /** The most workers any strategy may use. @defaultValue 256 */
  maxWorkers: workerCount(1).default(SCENARIO_DEFAULTS.maxWorkers),
};

const scenarioSchema = optionsObject(scenarioShape).check((ctx) => {
  const total = ctx.value.phases.reduce((t, p) => t + p.durationS, 0);
  if (total > MAX_DURATION_S)
    ctx.issues.push(issue("phases", total, `phases lasting ${MAX_DURATION_S} s at most in all`));
  ctx.issues.push(
    ...notAbove("initialWorkers", ctx.value.initialWorkers, "maxWorkers", ctx.value.maxWorkers),
  );
});

/** One stretch of a scenario with a constant workload. */
export interface Phase extends OptionsInput<typeof phaseShape> {}

/**
 * A workload, as data: what `bench:scaling` runs and what `flowrhythm simulate` reads from a
 * JSON file. One stage under test, fed by a Poisson source that blocks when the stage's queue is
 * full, optionally calling a FIFO-semaphore dependency and feeding a fixed downstream stage.
 */
export interface Scenario extends OptionsInput<typeof scenarioShape> {}

/** A scenario as validated, every default filled in. */
export type ResolvedScenario = z.output<typeof scenarioSchema>;

/** Validates a scenario and fills in its defaults (a `FlowConfigError` names the bad field). */
export function parseScenario(input: unknown, where = "scenario"): ResolvedScenario {
  return parseOptions(scenarioSchema, input, where);
}

const steady = (
  id: string,
  title: string,
  rate: number,
  nRef: number,
  extra: Partial<Scenario> = {},
): Scenario => ({
  id,
  title,
  phases: [{ durationS: 60, rate, nRef }],
  ...extra,
});

/** The first nine scenarios of the suite, S1–S9. */
export const SCENARIOS: readonly Scenario[] = Object.freeze([
  steady("S1", "steady 500/s", 500, 7),
  {
    id: "S2",
    title: "step up 100 → 1000/s",
    phases: [
      { durationS: 30, rate: 100, nRef: 3 },
      { durationS: 60, rate: 1000, nRef: 12 },
    ],
  },
  {
    id: "S3",
    title: "step down 1000 → 100 → 0/s",
    phases: [
      { durationS: 30, rate: 1000, nRef: 12 },
      { durationS: 30, rate: 100, nRef: 3 },
      { durationS: 30, rate: 0, nRef: 1 },
    ],
  },
  {
    id: "S4",
    title: "spike 200 → 2000/s for 5 s",
    phases: [
      { durationS: 30, rate: 200, nRef: 4 },
      { durationS: 5, rate: 2000, nRef: 22 },
      { durationS: 25, rate: 200, nRef: 4 },
    ],
  },
  {
    id: "S5",
    title: "saturating dependency (40 slots), 6000/s",
    phases: [{ durationS: 60, rate: 6000, xOpt: 4000, nRef: 40 }],
    queueSize: 1000,
    dependencySlots: 40,
  },
  {
    id: "S5b",
    title: "same dependency, below its cap, 3000/s",
    phases: [{ durationS: 60, rate: 3000, nRef: 33 }],
    queueSize: 1000,
    dependencySlots: 40,
  },
  {
    id: "S6",
    title: "latency shift 10 → 50 → 10 ms at 1000/s",
    phases: [
      { durationS: 40, rate: 1000, nRef: 12 },
      { durationS: 60, rate: 1000, serviceMs: 50, nRef: 53 },
      { durationS: 40, rate: 1000, nRef: 12 },
    ],
  },
  {
    id: "S7",
    title: "bursty: 2000/s for 2 s, idle 8 s, ×6",
    phases: Array.from({ length: 6 }, () => [
      { durationS: 2, rate: 2000, nRef: 22 },
      { durationS: 8, rate: 0, nRef: 1 },
    ]).flat(),
  },
  steady("S8", "downstream backpressure (3 × 10 ms, queue 50)", 500, 4, {
    phases: [{ durationS: 60, rate: 500, xOpt: 300, nRef: 4 }],
    downstream: { workers: 3, serviceMs: 10, queueSize: 50 },
  }),
  steady("S9", "noisy service (lognormal, CV 1)", 500, 8, { service: "lognormal", serviceCv: 1 }),
]);

const batch = (id: string, title: string, maxWorkers: number, extra: Partial<Scenario> = {}): Scenario => ({
  id,
  title,
  phases: [{ durationS: 120, rate: 0, xOpt: (maxWorkers * 1000) / 10, nRef: maxWorkers }],
  batchItems: 20_000,
  queueSize: 64,
  maxWorkers,
  ...extra,
});

/**
 * The scenarios added after real jobs, S10–S13: batch jobs (censored demand), a batch
 * into a knee, a noisy dependency whose service time drifts, and an API that answers overload
 * with errors. For S10 and S11 the reference is `fixed` (N_ref is the pool it runs).
 */
export const BEYOND: readonly Scenario[] = Object.freeze([
  batch("S10", "batch of 20,000, queue 64, maxWorkers 64", 64),
  batch("S10b", "batch of 20,000, queue 64, maxWorkers 256", 256),
  batch("S11", "batch into a 40-slot dependency", 256, {
    phases: [{ durationS: 120, rate: 0, xOpt: 4000, nRef: 40 }],
    dependencySlots: 40,
  }),
  {
    id: "S12",
    title: "noisy dependency (lognormal 40 ms, CV 0.8, 24 slots)",
    phases: [
      { durationS: 30, rate: 150, nRef: 9 },
      { durationS: 60, rate: 700, xOpt: 600, nRef: 24 },
    ],
    serviceMs: 40,
    service: "lognormal",
    serviceCv: 0.8,
    dependencySlots: 24,
    queueSize: 2000,
  },
  {
    id: "S13",
    title: "overload errors past 50 in flight, 3000/s, retry ×4",
    phases: [{ durationS: 30, rate: 3000, xOpt: 2500, nRef: 50 }],
    serviceMs: 20,
    overload: { maxInFlight: 50, failMs: 1 },
    retryAttempts: 4,
  },
]);

/**
 * Scales every phase's length by `factor` (the real-time runs use 0.1). A batch keeps its phases
 * (they are only its time limit) and runs `factor` of its items instead: the same job, smaller.
 */
export function shortened(s: Scenario, factor: number): Scenario {
  if (s.batchItems !== undefined) return { ...s, batchItems: Math.max(1, Math.round(s.batchItems * factor)) };
  return { ...s, phases: s.phases.map((p) => ({ ...p, durationS: p.durationS * factor })) };
}
