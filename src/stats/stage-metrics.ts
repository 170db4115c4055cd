import type { Clock } from "../clock/clock.js";
import { LatencyRecorder, type TimingSink } from "./latency-recorder.js";
import { RateMeter } from "./rate-meter.js";
import type { LatencySummary, StageStats } from "./stage-stats.js";

/** What the metrics read of a stage's input queue. */
export interface QueueProbe {
  readonly length: number;
  readonly capacity: number;
  oldestStamp(): number | null;
}

/** What the metrics read of a stage's worker pool. */
export interface PoolProbe {
  /** Workers counted toward the target: running and not retiring. */
  readonly activeWorkers: number;
}

/** Time constant of the short-window averages (`avgBusyWorkers`, `processingTimeMs`, …). */
const RECENT_TAU_MS = 1000;

const NO_POOL: PoolProbe = { activeWorkers: 0 };

/**
 * The mutable counters of one stage. The runtime writes the fields directly on the hot path
 * (plain increments and stores); everything derived — rates, percentiles, utilization — is
 * computed on the tick or when someone reads.
 *
 * Invariant: busy + idle + blocked + starting + retrying + rateLimited = total, and each worker is
 * counted in exactly one of the six.
 */
export class StageMetrics {
  busy = 0;
  idle = 0;
  blocked = 0;
  starting = 0;
  retrying = 0;
  rateLimited = 0;
  received = 0;
  processed = 0;
  errors = 0;
  retries = 0;
  overloads = 0;
  dropped = 0;
  skipped = 0;
  expanded = 0;
  children = 0;
  batches = 0;
  unclosed = 0;
  /** The most active workers the stage has had at once (updated as it scales, never per item). */
  peak = 0;
  /** A threaded stage's live threads and their mean event-loop utilization (read on the tick). */
  threads = 0;
  threadUtilization: number | null = null;
  lastEnqueueAt: number | null = null;
  lastDequeueAt: number | null = null;
  lastScaleUpAt: number | null = null;
  lastScaleDownAt: number | null = null;
  lastErrorAt: number | null = null;
  lastOverloadAt: number | null = null;
  readonly latency: LatencyRecorder;
  readonly queueWait: LatencyRecorder;
  readonly #throughput = new RateMeter();
  readonly #arrival = new RateMeter();
  /** Short-window averages, advanced on the tick (see {@link RECENT_TAU_MS}). */
  avgBusy = 0;
  avgIdle = 0;
  avgBlocked = 0;
  /** Mean processing time over about the last second; 0 until an item was timed. */
  processingTimeMs = 0;
  #averagedAt: number;
  /** A view whose fields read these counters live: what strategies are handed on the hot path. */
  readonly live: StageStats;

  constructor(
    readonly stageName: string,
    readonly queue: QueueProbe,
    readonly clock: Clock,
    windowMs: number,
    readonly pool: PoolProbe = NO_POOL,
    /** Exporters' sinks for the timing samples (see {@link TimingSink}); none by default. */
    sinks: ReadonlySet<TimingSink> | null = null,
  ) {
    const now = clock.now();
    this.#averagedAt = now;
    this.latency = new LatencyRecorder(
      windowMs,
      now,
      sinks && { sinks, stage: stageName, kind: "processing" },
    );
    this.queueWait = new LatencyRecorder(
      windowMs,
      now,
      sinks && { sinks, stage: stageName, kind: "queueWait" },
    );
    this.live = new LiveStageStats(this);
  }

  get total(): number {
    return this.busy + this.idle + this.blocked + this.starting + this.retrying + this.rateLimited;
  }

  get utilization(): number {
    const total = this.total;
    if (total === 0) return this.queue.length > 0 ? 1 : 0;
    return this.busy / total;
  }

  get throughput(): number {
    return this.#throughput.rate;
  }

  get arrivalRate(): number {
    return this.#arrival.rate;
  }

  /** How long the oldest queued item has waited, in ms; 0 when the queue is empty. */
  oldestItemAgeMs(now: number): number {
    const stamp = this.queue.oldestStamp();
    return stamp === null ? 0 : Math.max(0, now - stamp);
  }

  /**
   * Advances the rate meters, the latency windows and the short-window averages; called on the
   * flow's tick. The worker gauges are sampled here (not integrated per transition), which keeps
   * the hot path free of clock reads; at a 100 ms tick the average spans about ten samples.
   */
  tick(now: number): void {
    this.#throughput.update(this.processed, now);
    this.#arrival.update(this.received, now);
    const recent = this.latency.takeRecentMean();
    this.latency.rotate(now);
    this.queueWait.rotate(now);
    const dt = now - this.#averagedAt;
    if (dt <= 0) return;
    this.#averagedAt = now;
    const a = 1 - Math.exp(-dt / RECENT_TAU_MS);
    this.avgBusy += a * (this.busy - this.avgBusy);
    this.avgIdle += a * (this.idle - this.avgIdle);
    this.avgBlocked += a * (this.blocked - this.avgBlocked);
    if (!Number.isNaN(recent)) {
      this.processingTimeMs =
        this.processingTimeMs === 0 ? recent : this.processingTimeMs + a * (recent - this.processingTimeMs);
    }
  }

  /** A frozen copy of every field, percentiles included. */
  snapshot(): StageStats {
    const l = this.live;
    return Object.freeze({
      stageName: this.stageName,
      now: this.clock.now(),
      busyWorkers: this.busy,
      idleWorkers: this.idle,
      blockedWorkers: this.blocked,
      startingWorkers: this.starting,
      retryingWorkers: this.retrying,
      rateLimitedWorkers: this.rateLimited,
      totalWorkers: this.total,
      activeWorkers: this.pool.activeWorkers,
      peakWorkers: this.peak,
      avgBusyWorkers: this.avgBusy,
      avgIdleWorkers: this.avgIdle,
      avgBlockedWorkers: this.avgBlocked,
      processingTimeMs: this.processingTimeMs,
      timedItems: this.latency.total,
      timedMs: this.latency.totalMs,
      timedMsSquared: this.latency.totalMsSquared,
      oldestItemAgeMs: this.oldestItemAgeMs(l.now),
      utilization: this.utilization,
      queueLength: this.queue.length,
      queueCapacity: this.queue.capacity,
      oldestItemEnqueuedAt: l.oldestItemEnqueuedAt,
      lastEnqueueAt: this.lastEnqueueAt,
      lastDequeueAt: this.lastDequeueAt,
      lastScaleUpAt: this.lastScaleUpAt,
      lastScaleDownAt: this.lastScaleDownAt,
      lastErrorAt: this.lastErrorAt,
      lastOverloadAt: this.lastOverloadAt,
      received: this.received,
      processed: this.processed,
      errors: this.errors,
      retries: this.retries,
      overloads: this.overloads,
      dropped: this.dropped,
      skipped: this.skipped,
      expanded: this.expanded,
      children: this.children,
      batches: this.batches,
      unclosedResources: this.unclosed,
      threads: this.threads,
      threadUtilization: this.threadUtilization,
      throughput: this.throughput,
      arrivalRate: this.arrivalRate,
      latency: this.latency.summary(),
      queueWait: this.queueWait.summary(),
    });
  }
}

/**
 * `StageStats` as getters over live counters: building it costs nothing per item, and a
 * strategy pays only for the fields it reads (percentiles are computed on access).
 */
class LiveStageStats implements StageStats {
  readonly #m: StageMetrics;

  constructor(metrics: StageMetrics) {
    this.#m = metrics;
  }

  get stageName(): string {
    return this.#m.stageName;
  }
  get now(): number {
    return this.#m.clock.now();
  }
  get busyWorkers(): number {
    return this.#m.busy;
  }
  get idleWorkers(): number {
    return this.#m.idle;
  }
  get blockedWorkers(): number {
    return this.#m.blocked;
  }
  get retryingWorkers(): number {
    return this.#m.retrying;
  }
  get timedItems(): number {
    return this.#m.latency.total;
  }
  get timedMs(): number {
    return this.#m.latency.totalMs;
  }
  get timedMsSquared(): number {
    return this.#m.latency.totalMsSquared;
  }
  get rateLimitedWorkers(): number {
    return this.#m.rateLimited;
  }
  get startingWorkers(): number {
    return this.#m.starting;
  }
  get totalWorkers(): number {
    return this.#m.total;
  }
  get peakWorkers(): number {
    return this.#m.peak;
  }

  get activeWorkers(): number {
    return this.#m.pool.activeWorkers;
  }
  get avgBusyWorkers(): number {
    return this.#m.avgBusy;
  }
  get avgIdleWorkers(): number {
    return this.#m.avgIdle;
  }
  get avgBlockedWorkers(): number {
    return this.#m.avgBlocked;
  }
  get processingTimeMs(): number {
    return this.#m.processingTimeMs;
  }
  get oldestItemAgeMs(): number {
    return this.#m.oldestItemAgeMs(this.#m.clock.now());
  }
  get utilization(): number {
    return this.#m.utilization;
  }
  get queueLength(): number {
    return this.#m.queue.length;
  }
  get queueCapacity(): number {
    return this.#m.queue.capacity;
  }
  get oldestItemEnqueuedAt(): number | null {
    return this.#m.queue.oldestStamp();
  }
  get lastEnqueueAt(): number | null {
    return this.#m.lastEnqueueAt;
  }
  get lastDequeueAt(): number | null {
    return this.#m.lastDequeueAt;
  }
  get lastScaleUpAt(): number | null {
    return this.#m.lastScaleUpAt;
  }
  get lastScaleDownAt(): number | null {
    return this.#m.lastScaleDownAt;
  }
  get lastErrorAt(): number | null {
    return this.#m.lastErrorAt;
  }
  get lastOverloadAt(): number | null {
    return this.#m.lastOverloadAt;
  }
  get received(): number {
    return this.#m.received;
  }
  get processed(): number {
    return this.#m.processed;
  }
  get errors(): number {
    return this.#m.errors;
  }
  get retries(): number {
    return this.#m.retries;
  }
  get overloads(): number {
    return this.#m.overloads;
  }
  get dropped(): number {
    return this.#m.dropped;
  }
  get skipped(): number {
    return this.#m.skipped;
  }
  get expanded(): number {
    return this.#m.expanded;
  }
  get children(): number {
    return this.#m.children;
  }
  get batches(): number {
    return this.#m.batches;
  }
  get unclosedResources(): number {
    return this.#m.unclosed;
  }
  get threads(): number {
    return this.#m.threads;
  }
  get threadUtilization(): number | null {
    return this.#m.threadUtilization;
  }
  get throughput(): number {
    return this.#m.throughput;
  }
  get arrivalRate(): number {
    return this.#m.arrivalRate;
  }
  get latency(): LatencySummary {
    return this.#m.latency.summary();
  }
  get queueWait(): LatencySummary {
    return this.#m.queueWait.summary();
  }
}
