import { build, type Histogram } from "hdr-histogram-js";
import type { LatencySummary } from "./stage-stats.js";

const EMPTY: LatencySummary = Object.freeze({ p50: 0, p90: 0, p99: 0, max: 0, mean: 0, count: 0 });

// Starts small and grows to what is recorded (`autoResize`): sized for a minute up front, four per
// stage cost ~200 KB each at every run's start — measured as the largest cost of a short run
// (allocation and the garbage it leaves), and most stages never see a call that long.
function histogram(): Histogram {
  return build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 1024,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

/**
 * Receives a stage's timing samples, in ms, as they are folded into its histograms: on the flow's
 * tick, or when someone reads the stats. A sample (see `timingSampleEvery`), at most
 * {@link SAMPLES_PER_FLUSH} per flush; `samplesMs` is reused, so read it before returning.
 */
export type TimingSink = (
  stage: string,
  kind: "processing" | "queueWait",
  samplesMs: Float64Array,
  count: number,
) => void;

/** Where a recorder hands its samples: the run's sinks, under the stage's name and the timing's kind. */
export interface TimingTap {
  readonly sinks: ReadonlySet<TimingSink>;
  readonly stage: string;
  readonly kind: "processing" | "queueWait";
}

/** Samples kept between two flushes (one tick); more are not recorded until the next flush. */
export const SAMPLES_PER_FLUSH = 512;

/**
 * A latency distribution over a sliding window, in HDR histograms of microseconds.
 *
 * `record` only stores the value in a small buffer (a few nanoseconds); the buffer is folded
 * into the histogram on the flow's tick or when someone reads, and holds at most
 * {@link SAMPLES_PER_FLUSH} values, so timing costs a bounded amount per tick however fast
 * items move (callers check `hasRoom` before reading the clock at all). Percentiles are
 * computed only by `summary()`. Two histograms take turns: the summary covers the current
 * window and the one before, so it reflects the last one to two windows rather than all time.
 */
export class LatencyRecorder {
  readonly #buffer = new Float64Array(SAMPLES_PER_FLUSH);
  #buffered = 0;
  #current = histogram();
  #previous = histogram();
  /**
   * The sums of the values in {@link #current} and {@link #previous}, in µs: the mean from them is
   * exact and costs nothing, where the histogram's own walks every bucket (measured: 1.2 ms of a
   * 1.5 ms summary, and a `stats()` of a three-stage flow took 7 ms).
   */
  #currentSumUs = 0;
  #previousSumUs = 0;
  /** The last summary, until a sample is folded in or the window turns: readers in one tick share it. */
  #summary: LatencySummary | null = null;
  #scratch: Histogram | null = null;
  #windowStart: number;
  readonly #windowMs: number;
  #recentSum = 0;
  #recentCount = 0;
  /** Every sample recorded, their sum in ms and the sum of their squares: a strategy's own windows take differences. */
  total = 0;
  totalMs = 0;
  totalMsSquared = 0;

  constructor(
    windowMs: number,
    now: number,
    private readonly tap: TimingTap | null = null,
  ) {
    this.#windowMs = windowMs;
    this.#windowStart = now;
  }

  /** Whether a sample recorded now would be kept. */
  get hasRoom(): boolean {
    return this.#buffered < SAMPLES_PER_FLUSH;
  }

  /** Records one duration in milliseconds; dropped when the buffer is full. */
  record(ms: number): void {
    this.total++;
    if (ms > 0) {
      this.totalMs += ms;
      this.totalMsSquared += ms * ms;
    }
    const n = this.#buffered;
    if (n < SAMPLES_PER_FLUSH) {
      this.#buffer[n] = ms;
      this.#buffered = n + 1;
    }
  }

  /** Folds the buffered samples into the histogram (negative values, from clock skew, count as 0). */
  flush(): void {
    const h = this.#current;
    const buf = this.#buffer;
    let sum = 0;
    const n = this.#buffered;
    const tap = this.tap;
    if (n > 0 && tap !== null && tap.sinks.size > 0) {
      // An exporter's failure must not stop the flow's own timing: each sink is on its own.
      for (const sink of tap.sinks) {
        try {
          sink(tap.stage, tap.kind, buf, n);
        } catch {}
      }
    }
    for (let i = 0; i < n; i++) {
      const ms = buf[i]!;
      const us = ms > 0 ? Math.round(ms * 1000) : 0;
      h.recordValue(us);
      sum += us;
    }
    this.#currentSumUs += sum;
    if (n > 0) this.#summary = null;
    this.#recentSum += sum / 1000;
    this.#recentCount += n;
    this.#buffered = 0;
  }

  /**
   * The mean of the samples recorded since the last call (flushing first), or `NaN` when there
   * were none; what the tick feeds into the short-window averages.
   */
  takeRecentMean(): number {
    this.flush();
    const n = this.#recentCount;
    const mean = n > 0 ? this.#recentSum / n : Number.NaN;
    this.#recentSum = 0;
    this.#recentCount = 0;
    return mean;
  }

  /** Flushes, and starts a new window when the current one is older than the window length. */
  rotate(now: number): void {
    this.flush();
    if (now - this.#windowStart < this.#windowMs) return;
    const old = this.#previous;
    old.reset();
    this.#previous = this.#current;
    this.#current = old;
    this.#previousSumUs = this.#currentSumUs;
    this.#currentSumUs = 0;
    this.#summary = null;
    this.#windowStart = now;
  }

  summary(): LatencySummary {
    this.flush();
    if (this.#summary !== null) return this.#summary;
    this.#summary = this.#summarize();
    return this.#summary;
  }

  #summarize(): LatencySummary {
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
    // A percentile is the top of its bucket, which can lie above the largest value recorded in
    // it: cap it at the max, so that p99 never reads higher than the max.
    const max = h.maxValue;
    return Object.freeze({
      p50: Math.min(h.getValueAtPercentile(50), max) / 1000,
      p90: Math.min(h.getValueAtPercentile(90), max) / 1000,
      p99: Math.min(h.getValueAtPercentile(99), max) / 1000,
      max: max / 1000,
      mean: (this.#currentSumUs + this.#previousSumUs) / h.totalCount / 1000,
      count: h.totalCount,
    });
  }
}
