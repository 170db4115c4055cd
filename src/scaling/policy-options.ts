import { z } from "zod";
import { check, isFiniteNumber, isInt } from "../internal/parse-options.js";

/**
 * Options every built-in adaptive strategy shares: the policy layer that turns a strategy's
 * recommendation into a worker count (see {@link PolicyScaling}). Every field is optional.
 */
export interface PolicyOptions {
  /** The fewest workers; 0 lets an idle stage scale to zero. @defaultValue 1 */
  minWorkers?: number;
  /** The most workers. @defaultValue 64 */
  maxWorkers?: number;
  /** Workers the stage starts with. @defaultValue `max(1, minWorkers)` */
  initialWorkers?: number;
  /** A change smaller than this fraction of the current count is ignored (stops ±1 flapping). @defaultValue 0.1 */
  tolerance?: number;
  /** Shrink only to the highest count recommended within this window. @defaultValue 5000 */
  downStabilizationMs?: number;
  /** Growth per `growthPeriodMs` is capped at the larger of +this percent… @defaultValue 100 */
  maxGrowthPercent?: number;
  /** …and +this many workers. @defaultValue 4 */
  maxGrowthWorkers?: number;
  /** The period of the growth limit. @defaultValue 100 */
  growthPeriodMs?: number;
  /** After any change, no further change for this long (kept for compatibility; prefer the windows). @defaultValue 0 */
  cooldownMs?: number;
  /** Each step is multiplied by this, at least 1 worker (kept for compatibility). @defaultValue 1 */
  dampening?: number;
  /** Workers waiting on a full downstream queue are not demand: cap the count near the busy ones. */
  blockedGuard?: boolean;
  /** After growing with a backlog, keep the growth only if throughput rose with it. */
  kneeGuard?: boolean;
  /** The knee test's η: keep growth N0 → N1 only if X1/X0 − 1 ≥ η·(N1/N0 − 1). @defaultValue 0.3 */
  kneeEta?: number;
  /** How long a knee found by the test caps the count before it is probed again. @defaultValue 30000 */
  kneeHoldMs?: number;
}

const positiveMs = (what = "milliseconds") =>
  check<number>((v) => isFiniteNumber(0)(v) && (v as number) > 0, `a finite number of ${what} > 0`);
const ms = () => check<number>(isFiniteNumber(0), "a finite number of milliseconds ≥ 0");
const bool = () => check<boolean>((v) => typeof v === "boolean", "true or false");

/** The zod fields of {@link PolicyOptions}; each strategy's schema spreads them. */
const policyFields = {
  minWorkers: check<number>(isInt(0), "a whole number ≥ 0").optional(),
  maxWorkers: check<number>(isInt(1), "a whole number ≥ 1").optional(),
  initialWorkers: check<number>(isInt(0), "a whole number ≥ 0").optional(),
  tolerance: check<number>(isFiniteNumber(0, 1), "a number in [0, 1]").optional(),
  downStabilizationMs: ms().optional(),
  maxGrowthPercent: check<number>(isFiniteNumber(0), "a finite number ≥ 0").optional(),
  maxGrowthWorkers: check<number>(isInt(0), "a whole number ≥ 0").optional(),
  growthPeriodMs: positiveMs().optional(),
  cooldownMs: ms().optional(),
  dampening: check<number>(
    (v) => isFiniteNumber(0, 1)(v) && (v as number) > 0,
    "a number in (0, 1]",
  ).optional(),
  blockedGuard: bool().optional(),
  kneeGuard: bool().optional(),
  kneeEta: check<number>(
    (v) => isFiniteNumber(0, 10)(v) && (v as number) > 0,
    "a number in (0, 10]",
  ).optional(),
  kneeHoldMs: ms().optional(),
};

/**
 * The schema of a strategy's options: the policy fields, `extra` fields of its own, and the
 * cross-field checks.
 */
export function policySchema<E extends z.core.$ZodLooseShape>(extra: E) {
  return z
    .strictObject({ ...policyFields, ...extra })
    .check((ctx) => checkPolicy(ctx.value as PolicyOptions, ctx.issues));
}

/** {@link PolicyOptions} with every default filled in. */
export interface ResolvedPolicy {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly initialWorkers: number;
  readonly tolerance: number;
  readonly downStabilizationMs: number;
  readonly maxGrowthPercent: number;
  readonly maxGrowthWorkers: number;
  readonly growthPeriodMs: number;
  readonly cooldownMs: number;
  readonly dampening: number;
  readonly blockedGuard: boolean;
  readonly kneeGuard: boolean;
  readonly kneeEta: number;
  readonly kneeHoldMs: number;
}

/** Fills in the defaults; `guards` says which guards are on unless the options say otherwise. */
export function resolvePolicy(o: PolicyOptions, guards: { knee: boolean; blocked: boolean }): ResolvedPolicy {
  const minWorkers = o.minWorkers ?? 1;
  return {
    minWorkers,
    maxWorkers: o.maxWorkers ?? Math.max(64, minWorkers),
    initialWorkers: o.initialWorkers ?? Math.max(1, minWorkers),
    tolerance: o.tolerance ?? 0.1,
    downStabilizationMs: o.downStabilizationMs ?? 5000,
    maxGrowthPercent: o.maxGrowthPercent ?? 100,
    maxGrowthWorkers: o.maxGrowthWorkers ?? 4,
    growthPeriodMs: o.growthPeriodMs ?? 100,
    cooldownMs: o.cooldownMs ?? 0,
    dampening: o.dampening ?? 1,
    blockedGuard: o.blockedGuard ?? guards.blocked,
    kneeGuard: o.kneeGuard ?? guards.knee,
    kneeEta: o.kneeEta ?? 0.3,
    kneeHoldMs: o.kneeHoldMs ?? 30_000,
  };
}

/** Cross-field checks: min ≤ initial ≤ max. */
function checkPolicy(
  o: {
    minWorkers?: number | undefined;
    maxWorkers?: number | undefined;
    initialWorkers?: number | undefined;
  },
  issues: z.core.$ZodRawIssue[],
): void {
  const min = o.minWorkers ?? 1;
  const max = o.maxWorkers ?? Math.max(64, min);
  if (min > max)
    issues.push({ code: "custom", input: o, path: ["minWorkers"], message: `≤ maxWorkers (${max})` });
  const initial = o.initialWorkers;
  if (initial !== undefined && (initial < min || initial > max))
    issues.push({
      code: "custom",
      input: o,
      path: ["initialWorkers"],
      message: `between minWorkers (${min}) and maxWorkers (${max})`,
    });
}
