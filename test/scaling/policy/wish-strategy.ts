import { POLICY_DEFAULTS, type PolicyOptions, resolvePolicy } from "../../../src/scaling/policy-options.js";
import { PolicyScaling, type Rates } from "../../../src/index.js";
import type { StageStats } from "../../../src/index.js";
import { stageStats } from "../../helpers.js";

/**
 * A strategy that recommends whatever the test sets, so that a test sees the policy layer alone
 * and not any strategy's formula. It records what the layer handed it on each evaluation.
 */
export class Wish extends PolicyScaling {
  /** The recommendation for the next evaluation. */
  want = 1;
  /** Whether the next recommendations are forced (applied past the band, window and growth limit). */
  forceNext = false;
  /** What the layer passed to `recommend`, one entry per evaluation. */
  readonly seen: { now: number; workers: number; rates: Rates; serviceMs: number; backlogged: boolean }[] =
    [];

  constructor(options: PolicyOptions = {}, guards: { knee?: boolean; blocked?: boolean } = {}) {
    super(
      resolvePolicy(options, {
        ...POLICY_DEFAULTS,
        kneeGuard: guards.knee ?? false,
        blockedGuard: guards.blocked ?? false,
      }),
      options,
    );
  }

  protected recommend(stats: StageStats, workers: number, rates: Rates): number {
    this.seen.push({
      now: stats.now,
      workers,
      rates,
      serviceMs: this.serviceMs(stats),
      backlogged: this.backlogged(stats, workers),
    });
    this.force = this.forceNext;
    return this.want;
  }

  /** How many times the layer asked for a reason (it should only when the count changes). */
  explained = 0;

  protected explain(target: number): string {
    this.explained++;
    return `wished for ${target}`;
  }

  /** The rates the last evaluation was given. */
  get lastRates(): Rates {
    return this.seen.at(-1)!.rates;
  }
}

export type MutableStats = { -readonly [K in keyof StageStats]: StageStats[K] };

/** Hand-built stats the test can change between evaluations. */
export const mutableStats = (o: Partial<StageStats> = {}): MutableStats => ({ ...stageStats(), ...o });

/**
 * Ticks the strategy at `now` and applies its delta the way the controller would (the active
 * count follows the decision at once). Returns the delta.
 */
export function tickAt(s: PolicyScaling, st: MutableStats, now: number): number {
  st.now = now;
  return follow(st, s.onTick(st));
}

/**
 * Sends `events` item events (alternately enqueue and dequeue unless `kind` says) at `now` and
 * applies each delta. Returns the deltas that were not 0.
 */
export function eventsAt(
  s: PolicyScaling,
  st: MutableStats,
  now: number,
  events: number,
  kind: "enqueue" | "dequeue" | "both" = "both",
): number[] {
  st.now = now;
  const deltas: number[] = [];
  for (let i = 0; i < events; i++) {
    const enqueue = kind === "enqueue" || (kind === "both" && i % 2 === 0);
    const d = follow(st, enqueue ? s.onEnqueue(st) : s.onDequeue(st));
    if (d !== 0) deltas.push(d);
  }
  return deltas;
}

function follow(st: MutableStats, delta: number): number {
  st.activeWorkers += delta;
  st.totalWorkers = st.activeWorkers;
  return delta;
}
