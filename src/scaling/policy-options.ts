import type { z } from "zod";
import { between, bool, ms } from "../internal/option-fields.js";
import {
  issue,
  notAbove,
  type OptionsInput,
  type OptionsSchema,
  optionsObject,
} from "../internal/parse-options.js";
import { workerCount } from "./worker-limits.js";

/** The longest down window: the stabilizer keeps one bucket per 100 ms of it (HPA's longest is an hour too). */
export const MAX_DOWN_WINDOW_MS = 3_600_000;

/**
 * The policy layer's settings when a strategy's options leave them out. Each strategy adds its
 * own fields and says which guards are on; `maxWorkers` is raised to `minWorkers` and
 * `initialWorkers` is `max(1, minWorkers)` when they are left out.
 */
export const POLICY_DEFAULTS = Object.freeze({
  minWorkers: 1,
  maxWorkers: 64,
  tolerance: 0.1,
  downStabilizationMs: 5000,
  maxGrowthPercent: 100,
  maxGrowthWorkers: 4,
  growthPeriodMs: 100,
  cooldownMs: 0,
  dampening: 1,
  kneeEta: 0.3,
  kneeHoldMs: 30_000,
  idleShrinkMs: 0,
  overloadDecrease: 0.5,
});

/** A strategy's policy defaults: {@link POLICY_DEFAULTS} (or its own values) and its guards. */
export type PolicyDefaults = Readonly<Record<keyof typeof POLICY_DEFAULTS, number>> & {
  readonly kneeGuard: boolean;
  readonly blockedGuard: boolean;
  readonly slowStart?: boolean;
};

/** The zod fields of {@link PolicyOptions}; each strategy's schema adds its own. */
const policyShape = {
  /** The fewest workers; 0 lets an idle stage scale to zero. @defaultValue 1 */
  minWorkers: workerCount(0).optional(),
  /** The most workers (at most 10,000, `MAX_WORKERS`). @defaultValue 64 */
  maxWorkers: workerCount(1).optional(),
  /** Workers the stage starts with. @defaultValue `max(1, minWorkers)` */
  initialWorkers: workerCount(0).optional(),
  /** A change smaller than this fraction of the current count is ignored (stops ±1 flapping). @defaultValue 0.1 */
  tolerance: between(0, 1).optional(),
  /** Shrink only to the highest count recommended within this window (at most an hour). @defaultValue 5000 */
  downStabilizationMs: ms({ max: MAX_DOWN_WINDOW_MS }).optional(),
  /** Growth per `growthPeriodMs` is capped at the larger of +this percent… @defaultValue 100 */
  maxGrowthPercent: between(0, Number.POSITIVE_INFINITY).optional(),
  /** …and +this many workers. @defaultValue 4 */
  maxGrowthWorkers: workerCount(0).optional(),
  /** The period of the growth limit. @defaultValue 100 */
  growthPeriodMs: ms({ above: true }).optional(),
  /** After any change, no further change for this long (kept for compatibility; prefer the windows). @defaultValue 0 */
  cooldownMs: ms().optional(),
  /** Each step is multiplied by this, at least 1 worker (kept for compatibility; 0 makes every step one worker). @defaultValue 1 */
  dampening: between(0, 1).optional(),
  /** Workers waiting on a full downstream queue are not demand: cap the count near the busy ones. @defaultValue on, but off for `TargetUtilizationScaling` */
  blockedGuard: bool().optional(),
  /** After growing with a backlog, keep the growth only if throughput rose with it. @defaultValue on for `AdaptiveScaling` and `ThroughputScaling` */
  kneeGuard: bool().optional(),
  /**
   * While the source is blocked on the stage's full queue (demand the stage cannot see), double
   * the pool once per measured round until throughput per worker falls (the knee), the queue
   * stops being full, or `maxWorkers` (see `SlowStart`). @defaultValue on for `AdaptiveScaling`
   */
  slowStart: bool().optional(),
  /**
   * After this long with no arrivals and nothing queued or in flight, shrink to `minWorkers` at
   * once (past the down window), and when items come back, grow at once to the count the last
   * busy spell's arrival rate needed (bursts: no paying for the peak while idle, no ramp from one
   * worker at each burst). 0 turns it off. @defaultValue 1000 for `AdaptiveScaling`, 0 elsewhere
   */
  idleShrinkMs: ms().optional(),
  /**
   * On overload (calls failing with an error the stage's `overloadOn` recognises, such as HTTP
   * 429) the pool shrinks at once by the number of calls that overloaded, but never below this
   * fraction of itself, at most once per round of calls; it then grows back one worker a second
   * to just below the count that overloaded and probes that count again only after `kneeHoldMs`
   * (AIMD, as Netflix's concurrency limits and Envoy's adaptive concurrency do, with a memory so
   * that it does not sawtooth). 1 turns it off. @defaultValue 0.5
   */
  overloadDecrease: between(0, 1, { min: true }).optional(),
  /** The knee test's η: keep growth N0 → N1 only if X1/X0 − 1 ≥ η·(N1/N0 − 1). @defaultValue 0.3 */
  kneeEta: between(0, 10, { min: true }).optional(),
  /** How long a knee found by the test caps the count before it is probed again. @defaultValue 30000 */
  kneeHoldMs: ms().optional(),
};

/**
 * Options every built-in adaptive strategy shares: the policy layer that turns a strategy's
 * recommendation into a worker count (see {@link PolicyScaling}). Every field is optional.
 */
export interface PolicyOptions extends OptionsInput<typeof policyShape> {}

/** {@link PolicyOptions} with every default filled in. */
export type ResolvedPolicy = Readonly<
  Required<{ [K in keyof PolicyOptions]: Exclude<PolicyOptions[K], undefined> }>
>;

/** Fills in a strategy's defaults: `defaults` are its own (see {@link PolicyDefaults}). */
export function resolvePolicy(o: PolicyOptions, defaults: PolicyDefaults): ResolvedPolicy {
  const minWorkers = o.minWorkers ?? defaults.minWorkers;
  return {
    minWorkers,
    maxWorkers: o.maxWorkers ?? Math.max(defaults.maxWorkers, minWorkers),
    initialWorkers: o.initialWorkers ?? Math.max(1, minWorkers),
    tolerance: o.tolerance ?? defaults.tolerance,
    downStabilizationMs: o.downStabilizationMs ?? defaults.downStabilizationMs,
    maxGrowthPercent: o.maxGrowthPercent ?? defaults.maxGrowthPercent,
    maxGrowthWorkers: o.maxGrowthWorkers ?? defaults.maxGrowthWorkers,
    growthPeriodMs: o.growthPeriodMs ?? defaults.growthPeriodMs,
    cooldownMs: o.cooldownMs ?? defaults.cooldownMs,
    dampening: o.dampening ?? defaults.dampening,
    blockedGuard: o.blockedGuard ?? defaults.blockedGuard,
    kneeGuard: o.kneeGuard ?? defaults.kneeGuard,
    slowStart: o.slowStart ?? defaults.slowStart ?? false,
    kneeEta: o.kneeEta ?? defaults.kneeEta,
    kneeHoldMs: o.kneeHoldMs ?? defaults.kneeHoldMs,
    idleShrinkMs: o.idleShrinkMs ?? defaults.idleShrinkMs,
    overloadDecrease: o.overloadDecrease ?? defaults.overloadDecrease,
  };
}

/**
 * The schema of a strategy's options: the policy fields, `extra` fields of its own, and the
 * cross-field checks (min ≤ initial ≤ max), judged on the settings `defaults` resolve to.
 */
export function policySchema<E extends z.core.$ZodLooseShape>(
  extra: E,
  defaults: PolicyDefaults,
): OptionsSchema<typeof policyShape & E> {
  return optionsObject({ ...policyShape, ...extra }).check((ctx) => {
    const p = resolvePolicy(ctx.value as PolicyOptions, defaults);
    const minAboveMax = notAbove("minWorkers", p.minWorkers, "maxWorkers", p.maxWorkers);
    if (minAboveMax.length > 0) ctx.issues.push(...minAboveMax);
    else if (p.initialWorkers < p.minWorkers || p.initialWorkers > p.maxWorkers)
      ctx.issues.push(
        issue(
          "initialWorkers",
          p.initialWorkers,
          `between minWorkers (${p.minWorkers}) and maxWorkers (${p.maxWorkers})`,
        ),
      );
  }) as OptionsSchema<typeof policyShape & E>;
}
