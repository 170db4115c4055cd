/** Sizes of a knee, shared by the knee guard and slow start. */
import type { StageStats } from "../../stats/stage-stats.js";

/** How full the stage's queue is (0 for an unbounded one). */
export const queueFill = (stats: StageStats): number =>
  Number.isFinite(stats.queueCapacity) && stats.queueCapacity > 0
    ? stats.queueLength / stats.queueCapacity
    : 0;
/** A queue at least this full means the source is blocked on it: demand the stage cannot see. */
export const CENSORED = 0.5;

/** A cut to a knee that loses more than this share of the throughput before it was a soft limit. */
export const SOFT_LOSS = 0.1;
/** The same for a knee slow start found, whose short rounds read a rate less precisely. */
export const ROUND_LOSS = 0.25;
/** The lesser of two times of which 0 means "not known" (0 if neither is). */
export const leastKnown = (a: number, b: number): number => (a > 0 && !(b > 0 && b <= a) ? a : b);

/**
 * The unloaded time is the least of block means of noisy calls, low by about one and a half times
 * their noise (a block of 128 calls with a CV of 0.8 has a noise of 7 %): the knee sized from it
 * is raised by as much.
 */
export const LEAST_BIAS = 0.1;

/** Untested growth stops at this multiple of the count that delivers the throughput at unloaded speed. */
const BRAKE = 2;
/** The latency brake's count (fractional) for a throughput of `x`/s at an unloaded time of `baseS` ms. */
export const brakeAt = (x: number, baseS: number): number => (BRAKE * x * baseS) / 1000;

/** A knee estimate from a rate per worker is raised by this share: past the knee a worker costs little, short of it throughput is lost. */
export const KNEE_HEADROOM = 0.1;

/**
 * The count at the knee, from a throughput `x` measured past it. Where calls got slower (`slower`:
 * something behind the stage queues them) and the unloaded processing time `baseS` is known (ms),
 * it is the count that delivers `x` at the per-worker rate of unloaded calls, plus
 * {@link KNEE_HEADROOM}: counts measured past the knee all give the same throughput and cannot
 * tell where it is. Otherwise (work that never awaits, no baseline yet) it is `fallback`, an
 * estimate from measured counts. At least 1, below `n`.
 */
export function kneeEstimate(
  x: number,
  baseS: number,
  fallback: number,
  n: number,
  slower = true,
  headroom = KNEE_HEADROOM,
): number {
  const knee = slower && baseS > 0 ? ((x * baseS) / 1000) * (1 + headroom) : fallback;
  return Math.max(1, Math.min(n - 1, Math.ceil(knee - 1e-9)));
}

/** The least relative noise of a window's mean call time. */
const MEAN_NOISE_FLOOR = 0.01;

/**
 * The relative noise of the mean of `timed` calls that took `sumMs` in all, `sumSqMs` the sum of
 * their squares: their CV / √timed (a CV of 1 for fewer than two calls), at least 1 %.
 */
export function meanNoise(timed: number, sumMs: number, sumSqMs: number): number {
  return timed < 2 || sumMs <= 0
    ? 1
    : Math.max(MEAN_NOISE_FLOOR, callCv(timed, sumMs, sumSqMs) / Math.sqrt(timed));
}

/** The coefficient of variation of `timed` calls that took `sumMs` in all, `sumSqMs` the sum of their squares (1: fewer than two). */
export function callCv(timed: number, sumMs: number, sumSqMs: number): number {
  if (timed < 2 || sumMs <= 0) return 1;
  const mean = sumMs / timed;
  return Math.sqrt(Math.max(0, sumSqMs / timed - mean * mean)) / mean;
}
