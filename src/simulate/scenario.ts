import { z } from "zod";
import { check, isFiniteNumber, isInt, parseOptions } from "../internal/parse-options.js";

/** One stretch of a scenario with a constant workload. */
export interface Phase {
  /** Length, in seconds. */
  durationS: number;
  /** Poisson arrivals per second (0 for silence). */
  rate: number;
  /** Mean processing time in this phase, ms. @defaultValue the scenario's `serviceMs` */
  serviceMs?: number;
  /** The most completions per second physically possible. @defaultValue `rate` */
  xOpt?: number;
  /** The fewest workers whose steady p99 queue wait is ≤ one service time (or the knee). */
  nRef: number;
}

/**
 * A workload, as data: what `bench:scaling` runs and what `flowrhythm simulate` reads from a
 * JSON file. One stage under test, fed by a Poisson source that blocks when the stage's queue is
 * full, optionally calling a FIFO-semaphore dependency and feeding a fixed downstream stage.
 */
export interface Scenario {
  id: string;
  title?: string;
  phases: Phase[];
  /** Mean processing time, ms. @defaultValue 10 */
  serviceMs?: number;
  /** Processing-time distribution: `constant`, `exponential`, or `lognormal` with `serviceCv`. @defaultValue "constant" */
  service?: "constant" | "exponential" | "lognormal";
  /** Coefficient of variation of a lognormal processing time. @defaultValue 1 */
  serviceCv?: number;
  /** The stage's input queue. @defaultValue 1024 */
  queueSize?: number;
  /** Every call goes through a FIFO semaphore with this many slots. */
  dependencySlots?: number;
  /** A next stage with a fixed pool: the stage under test feeds it. */
  downstream?: { workers: number; serviceMs: number; queueSize: number };
  /** Workers the stage starts with. @defaultValue 1 */
  initialWorkers?: number;
  /** The most workers any strategy may use. @defaultValue 256 */
  maxWorkers?: number;
}

const positive = (what: string) => check<number>((v) => isFiniteNumber(0)(v) && (v as number) > 0, what);
const phaseSchema = z.strictObject({
  durationS: positive("a number of seconds > 0"),
  rate: check<number>(isFiniteNumber(0), "a finite rate ≥ 0 (items per second)"),
  serviceMs: positive("a number of milliseconds > 0").optional(),
  xOpt: check<number>(isFiniteNumber(0), "a finite rate ≥ 0 (items per second)").optional(),
  nRef: check<number>(isInt(1), "a whole number ≥ 1"),
});

const scenarioSchema = z.strictObject({
  id: check<string>((v) => typeof v === "string" && v.length > 0, "a non-empty string"),
  title: z.string().optional(),
  phases: z.array(phaseSchema).min(1, "at least one phase"),
  serviceMs: positive("a number of milliseconds > 0").optional(),
  service: z.enum(["constant", "exponential", "lognormal"]).optional(),
  serviceCv: check<number>(isFiniteNumber(0, 100), "a number in [0, 100]").optional(),
  queueSize: check<number>(isInt(1), "a whole number ≥ 1").optional(),
  dependencySlots: check<number>(isInt(1), "a whole number ≥ 1").optional(),
  downstream: z
    .strictObject({
      workers: check<number>(isInt(1), "a whole number ≥ 1"),
      serviceMs: positive("a number of milliseconds > 0"),
      queueSize: check<number>(isInt(1), "a whole number ≥ 1"),
    })
    .optional(),
  initialWorkers: check<number>(isInt(1), "a whole number ≥ 1").optional(),
  maxWorkers: check<number>(isInt(1), "a whole number ≥ 1").optional(),
});

/** Validates a scenario (a `FlowConfigError` names the bad field). */
export function parseScenario(input: unknown, where = "scenario"): Scenario {
  return parseOptions(scenarioSchema, input, where) as Scenario;
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

/** The suite of SCALING.md, S1–S9. */
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

/** Scales every phase's length by `factor` (the real-time runs use 0.1). */
export function shortened(s: Scenario, factor: number): Scenario {
  return { ...s, phases: s.phases.map((p) => ({ ...p, durationS: p.durationS * factor })) };
}
