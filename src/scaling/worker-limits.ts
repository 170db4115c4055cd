import { z } from "zod";
import { isCallable } from "../internal/callable.js";
import { issue, readIssue } from "../internal/parse-options.js";
import type { ScalingStrategy } from "./scaling-strategy.js";

/**
 * The most workers one stage may run, and the largest `maxTotalWorkers`. A worker costs about
 * 2 KB and a pool is spawned eagerly: 10,000 workers take ~20 MiB and ~0.25 s to start on a
 * small machine (100,000 took 190 MiB and 2 s), and no single Node process usefully keeps more
 * calls than that in flight. A strategy that asks for more is refused where it is given, and
 * clamped (with a warning) if it asks at run time.
 */
export const MAX_WORKERS = 10_000;

/** The most workers a stage runs when its strategy sets no `maxWorkers`. */
export const DEFAULT_MAX_WORKERS = 1024;

/** The fewest and most workers the controller lets a stage run. */
export interface WorkerLimits {
  readonly min: number;
  readonly max: number;
}

/** A worker count option: a whole number from `min` to {@link MAX_WORKERS}. */
export function workerCount(min: number): z.ZodType<number, number> {
  return z.custom<number>(
    (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= MAX_WORKERS,
    { error: `a whole number from ${min} to ${MAX_WORKERS} (the most workers a stage may run)` },
  );
}

// What the checks read, kept so that the controller never reads a validated strategy's limits again.
const validated = new WeakMap<object, WorkerLimits>();

const STRATEGY =
  "a ScalingStrategy (an object with initialWorkers, onEnqueue and onDequeue methods; a class must be instantiated)";

const isCount = (v: unknown, min: number): v is number =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= MAX_WORKERS;

/**
 * Reads a strategy's members once — its three hooks, `onTick` and `clone` if present, and its
 * `minWorkers` / `maxWorkers` — and says what is wrong, as zod issues relative to the strategy.
 * The limits it returns are what it read, or the defaults where it read nothing usable.
 */
export function inspectStrategy(value: unknown): { limits: WorkerLimits; issues: z.core.$ZodRawIssue[] } {
  const issues: z.core.$ZodRawIssue[] = [];
  let limits: WorkerLimits = { min: 1, max: DEFAULT_MAX_WORKERS };
  if (typeof value !== "object" || value === null) return { limits, issues: [issue([], value, STRATEGY)] };
  const read = (key: string): { ok: boolean; value: unknown } => {
    try {
      return { ok: true, value: (value as Record<string, unknown>)[key] };
    } catch (error) {
      issues.push(readIssue({ kind: "unreadable", key, operation: "its getter", error }, undefined));
      return { ok: false, value: undefined };
    }
  };
  const hooks = ["initialWorkers", "onEnqueue", "onDequeue"].map(read);
  if (hooks.some((m) => m.ok && !isCallable(m.value))) issues.push(issue([], value, STRATEGY));
  for (const key of ["onTick", "clone"]) {
    const m = read(key);
    if (m.ok && m.value !== undefined && !isCallable(m.value))
      issues.push(issue([key], m.value, "a method, or nothing"));
  }
  if (issues.length > 0) return { limits, issues };
  const min = read("minWorkers");
  const max = read("maxWorkers");
  let lo = 1;
  if (min.ok && min.value !== undefined) {
    if (isCount(min.value, 0)) lo = min.value;
    else issues.push(issue(["minWorkers"], min.value, `a whole number from 0 to ${MAX_WORKERS}, or nothing`));
  }
  let hi = Math.max(DEFAULT_MAX_WORKERS, lo);
  if (max.ok && max.value !== undefined) {
    const lowest = Math.max(1, lo);
    if (isCount(max.value, lowest)) hi = max.value;
    else
      issues.push(
        issue(
          ["maxWorkers"],
          max.value,
          `a whole number from ${lowest} (minWorkers, at least 1) to ${MAX_WORKERS} (the most workers a stage may run), or nothing`,
        ),
      );
  }
  limits = { min: lo, max: hi };
  return { limits, issues };
}

/**
 * A strategy option (`scalingStrategy`, `defaultScalingStrategy`): checked by
 * {@link inspectStrategy}, the limits it read kept for the controller.
 */
export function strategyField(): z.ZodType<ScalingStrategy, ScalingStrategy> {
  return z
    .custom<ScalingStrategy>(() => true)
    .check((ctx) => {
      ctx.issues.push(...checkStrategy(ctx.value));
    });
}

/** Checks a strategy (see {@link inspectStrategy}); when it is one, keeps the limits read for the controller. */
export function checkStrategy(value: unknown): z.core.$ZodRawIssue[] {
  const { limits, issues } = inspectStrategy(value);
  if (issues.length === 0) validated.set(value as object, limits);
  return issues;
}

/**
 * The limits the controller applies: those read when the strategy was validated, else (a
 * strategy's `clone()`, which is never validated) read now, the defaults standing in for
 * anything unusable; `problem` says what was replaced, for a warning.
 */
export function workerLimitsOf(strategy: ScalingStrategy): { limits: WorkerLimits; problem: string | null } {
  const known = validated.get(strategy);
  if (known) return { limits: known, problem: null };
  const { limits, issues } = inspectStrategy(strategy);
  const first = issues[0];
  if (first === undefined) return { limits, problem: null };
  const at = first.path?.length ? `${first.path.map(String).join(".")} ` : "";
  // Only a read issue carries params: user code threw while the member was read.
  const what = "params" in first ? "could not be read" : `is not ${first.message}`;
  return {
    limits,
    problem: `${at}${what}; running with minWorkers ${limits.min}, maxWorkers ${limits.max}`,
  };
}
