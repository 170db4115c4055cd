import { build, type Histogram } from "hdr-histogram-js";
import type { LatencySummary } from "./stage-stats.js";

const EMPTY: LatencySummary = Object.freeze({ p50: 0, p90: 0, p99: 0, max: 0, mean: 0, count: 0 });

function histogram(): Histogram {
  return build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

/**
 * A latency distribution over a sliding window, in HDR histograms of microseconds.
 * `record` is O(1); percentiles are computed only by `summary()`. Two histograms take turns:
 * the summary covers the current window and the one before, so it reflects the last
 * one to two windows rather than all time.
 */
export class LatencyRecorder {
  #current = histogram();
  #previous = histogram();
  #scratch: Histogram | null = null;
  #windowStart: number;
  readonly #windowMs: number;

  constructor(windowMs: number, now: number) {
    this.#windowMs = windowMs;
    this.#windowStart = now;
  }

  /** Records one duration in milliseconds (negative values, from clock skew, count as 0). */
  record(ms: number): void {
    this.#current.recordValue(ms > 0 ? Math.round(ms * 1000) : 0);
  }

  /** Starts a new window when the current one is older than the window length. */
  rotate(now: number): void {
    if (now - this.#windowStart < this.#windowMs) return;
    const old = this.#previous;
    old.reset();
    this.#previous = this.#current;
    this.#current = old;
    this.#windowStart = now;
  }

  summary(): LatencySummary {
    const cur = this.#current;
    const prev = this.#previous;
    let h: Histogram;
    if (prev.totalCount === 0) h = cur;
    else if (cur.totalCount === 0) h = prev;
    else {
      h = this.#scratch ??= histogram();
      h.reset();
      h.add(prev);
      h.add(cur);
    }
    if (h.totalCount === 0) return EMPTY;
    return {
      p50: h.getValueAtPercentile(50) / 1000,
      p90: h.getValueAtPercentile(90) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      max: h.maxValue / 1000,
      mean: h.mean / 1000,
      count: h.totalCount,
    };
  }
}
