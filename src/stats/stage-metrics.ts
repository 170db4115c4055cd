import type { Clock } from "../internal/clock.js";
import { LatencyRecorder } from "./latency-recorder.js";
import { RateMeter } from "./rate-meter.js";
import type { LatencySummary, StageStats } from "./stage-stats.js";

/** What the metrics read of a stage's input queue. */
export interface QueueProbe {
  readonly length: number;
  readonly capacity: number;
  oldestStamp(): number | null;
}

/**
 * The mutable counters of one stage. The runtime writes the fields directly on the hot path
 * (plain increments and stores); everything derived — rates, percentiles, utilization — is
 * computed on the tick or when someone reads.
 *
 * Invariant: busy + idle + blocked + starting + retrying = total, and each worker is counted in
 * exactly one of the five.
 */
export class StageMetrics {
  busy = 0;
  idle = 0;
  blocked = 0;
  starting = 0;
  retrying = 0;
  received = 0;
  processed = 0;
  errors = 0;
  retries = 0;
  dropped = 0;
  batches = 0;
  lastEnqueueAt: number | null = null;
  lastDequeueAt: number | null = null;
  lastScaleUpAt: number | null = null;
  lastScaleDownAt: number | null = null;
  lastErrorAt: number | null = null;
  readonly latency: LatencyRecorder;
  readonly queueWait: LatencyRecorder;
  readonly #throughput = new RateMeter();
  readonly #arrival = new RateMeter();
  /** A view whose fields read these counters live: what strategies are handed on the hot path. */
  readonly live: StageStats;

  constructor(
    readonly stageName: string,
    readonly queue: QueueProbe,
    readonly clock: Clock,
    windowMs: number,
  ) {
    const now = clock.now();
    this.latency = new LatencyRecorder(windowMs, now);
    this.queueWait = new LatencyRecorder(windowMs, now);
    this.live = new LiveStageStats(this);
  }

  get total(): number {
    return this.busy + this.idle + this.blocked + this.starting + this.retrying;
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

  /** Advances the rate meters and the latency windows; called on the flow's tick. */
  tick(now: number): void {
    this.#throughput.update(this.processed, now);
    this.#arrival.update(this.received, now);
    this.latency.rotate(now);
    this.queueWait.rotate(now);
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
      totalWorkers: this.total,
      utilization: this.utilization,
      queueLength: this.queue.length,
      queueCapacity: this.queue.capacity,
      oldestItemEnqueuedAt: l.oldestItemEnqueuedAt,
      lastEnqueueAt: this.lastEnqueueAt,
      lastDequeueAt: this.lastDequeueAt,
      lastScaleUpAt: this.lastScaleUpAt,
      lastScaleDownAt: this.lastScaleDownAt,
      lastErrorAt: this.lastErrorAt,
      received: this.received,
      processed: this.processed,
      errors: this.errors,
      retries: this.retries,
      dropped: this.dropped,
      batches: this.batches,
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
  get startingWorkers(): number {
    return this.#m.starting;
  }
  get totalWorkers(): number {
    return this.#m.total;
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
  get dropped(): number {
    return this.#m.dropped;
  }
  get batches(): number {
    return this.#m.batches;
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
