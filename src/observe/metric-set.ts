import type { FlowStats, StageStats } from "../stats/stage-stats.js";

/**
 * How a metric is exported: a monotonic `counter`, an `updown` count of things that exist now
 * (additive across stages: workers, queued items), a non-additive `gauge`, or a `histogram`.
 * Every kind but `histogram` is read from a stats snapshot when a collector asks, never counted
 * per item.
 */
export type MetricKind = "counter" | "updown" | "gauge" | "histogram";

/** A bounded attribute that splits one metric into a fixed set of series. */
export interface MetricSplit<S> {
  /** The OpenTelemetry attribute key. */
  readonly attribute: string;
  /** The Prometheus label name. */
  readonly label: string;
  /** Every value the attribute takes, in export order. */
  readonly values: readonly string[];
  /** How to read each value's series from a snapshot (absent: counted elsewhere). */
  readonly read?: Readonly<Record<string, (s: S) => number>>;
}

function split<S>(attribute: string, label: string, read: Record<string, (s: S) => number>): MetricSplit<S> {
  return { attribute, label, values: Object.keys(read), read };
}

interface MetricBase {
  /** The OpenTelemetry name; the Prometheus name is derived from it ({@link prometheusName}). */
  readonly name: string;
  readonly kind: MetricKind;
  /** UCUM unit, in OpenTelemetry's style: `s`, or an annotation such as `{item}`. */
  readonly unit: string;
  readonly description: string;
  /** Where the value comes from, for the docs. */
  readonly source: string;
}

/** A metric of the whole flow, read from a {@link FlowStats} snapshot. */
export interface FlowMetric extends MetricBase {
  readonly scope: "flow";
  readonly read?: (s: FlowStats) => number;
  readonly split?: MetricSplit<FlowStats>;
}

/**
 * A metric of each stage, read from its {@link StageStats}; `read` returning `null` means no
 * series (an unbounded queue has no capacity). The scale events are counted from the `scale`
 * event instead (see {@link scaleReasonKind}), and the histograms fed from the timing samples.
 */
export interface StageMetric extends MetricBase {
  readonly scope: "stage";
  readonly read?: (s: StageStats) => number | null;
  readonly split?: MetricSplit<StageStats>;
  /** A histogram's samples: the stage's processing times or queue waits. */
  readonly timing?: "processing" | "queueWait";
  /** Counted from the flow's `scale` events (the `split`'s `read` is unused). */
  readonly scaleEvents?: true;
}

/** One entry of {@link METRICS}. */
export type MetricDef = FlowMetric | StageMetric;

/** The attribute every metric carries: the flow's `name` option. */
export const FLOW_ATTRIBUTE = { attribute: "flowrhythm.flow.name", label: "flow" } as const;
/** The attribute every stage metric carries: the stage's name. */
export const STAGE_ATTRIBUTE = { attribute: "flowrhythm.stage.name", label: "stage" } as const;

/**
 * The kinds a scale event's reason is counted under, a fixed list: the attribute never carries
 * the reason's free text (it holds numbers and other stages' names).
 */
export const SCALE_REASON_KINDS = [
  "initial",
  "enqueue",
  "dequeue",
  "tick",
  "liveness",
  "budget",
  "exit",
  "other",
] as const;

/** One of {@link SCALE_REASON_KINDS}. */
export type ScaleReasonKind = (typeof SCALE_REASON_KINDS)[number];

/**
 * The kind of a `ScaleEvent.reason`: the word before its first colon. `thread budget: …` (the
 * `maxThreads` budget) counts as `budget`; `respawn: …`, `held growth: …` and anything a later
 * version adds count as `other`.
 */
export function scaleReasonKind(reason: string): ScaleReasonKind {
  const colon = reason.indexOf(":");
  const head = (colon < 0 ? reason : reason.slice(0, colon)).trim();
  if (head === "thread budget") return "budget";
  return (SCALE_REASON_KINDS as readonly string[]).includes(head) ? (head as ScaleReasonKind) : "other";
}

/**
 * Default histogram bucket bounds, in seconds: from half a millisecond to five minutes, about
 * three to a decade, so a stage of 2 ms calls and one of 40 s calls both get a usable shape.
 */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
]);

const ITEM_OUTCOME = "flowrhythm.item.outcome";

const metrics: MetricDef[] = [
  {
    scope: "flow",
    name: "flowrhythm.flow.arrivals",
    kind: "counter",
    unit: "{item}",
    description: "Items taken from the producer or pushed.",
    source: "FlowStats.itemsIn",
    read: (s) => s.itemsIn,
  },
  {
    scope: "flow",
    name: "flowrhythm.flow.children",
    kind: "counter",
    unit: "{item}",
    description: "Items flatMap stages made; each has an outcome of its own.",
    source: "FlowStats.children",
    read: (s) => s.children,
  },
  {
    scope: "flow",
    name: "flowrhythm.flow.items",
    kind: "counter",
    unit: "{item}",
    description: "Items that reached a terminal state, by outcome.",
    source: "FlowStats.consumed, failed, dropped, skipped, expanded",
    split: split<FlowStats>(ITEM_OUTCOME, "outcome", {
      consumed: (s) => s.consumed,
      failed: (s) => s.failed,
      dropped: (s) => s.dropped,
      skipped: (s) => s.skipped,
      expanded: (s) => s.expanded,
    }),
  },
  {
    scope: "flow",
    name: "flowrhythm.flow.active_items",
    kind: "updown",
    unit: "{item}",
    description: "Items in the flow not yet in a terminal state.",
    source: "FlowStats.inFlight",
    read: (s) => s.inFlight,
  },
  {
    scope: "flow",
    name: "flowrhythm.flow.listener_errors",
    kind: "counter",
    unit: "{error}",
    description: "Listeners of the flow's events that threw or rejected.",
    source: "FlowStats.listenerErrors",
    read: (s) => s.listenerErrors,
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.workers",
    kind: "updown",
    unit: "{worker}",
    description: "The stage's workers, by state; only busy ones are load.",
    source:
      "StageStats.startingWorkers, idleWorkers, busyWorkers, blockedWorkers, retryingWorkers, rateLimitedWorkers",
    split: split<StageStats>("flowrhythm.worker.state", "state", {
      starting: (s) => s.startingWorkers,
      idle: (s) => s.idleWorkers,
      busy: (s) => s.busyWorkers,
      blocked: (s) => s.blockedWorkers,
      retrying: (s) => s.retryingWorkers,
      rate_limited: (s) => s.rateLimitedWorkers,
    }),
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.peak_workers",
    kind: "gauge",
    unit: "{worker}",
    description: "The most workers the stage has had at once in the current run.",
    source: "StageStats.peakWorkers",
    read: (s) => s.peakWorkers,
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.queue.length",
    kind: "updown",
    unit: "{item}",
    description: "Items waiting in the stage's input queue.",
    source: "StageStats.queueLength",
    read: (s) => s.queueLength,
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.queue.capacity",
    kind: "updown",
    unit: "{item}",
    description: "The bound of the stage's input queue (no series for an unbounded queue).",
    source: "StageStats.queueCapacity",
    read: (s) => (Number.isFinite(s.queueCapacity) ? s.queueCapacity : null),
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.queue.oldest_age",
    kind: "gauge",
    unit: "s",
    description: "How long the oldest queued item has waited; 0 when the queue is empty.",
    source: "StageStats.oldestItemAgeMs / 1000",
    read: (s) => s.oldestItemAgeMs / 1000,
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.arrivals",
    kind: "counter",
    unit: "{item}",
    description: "Items that entered the stage's input queue.",
    source: "StageStats.received",
    read: (s) => s.received,
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.items",
    kind: "counter",
    unit: "{item}",
    description: "Items the stage finished with, by outcome.",
    source: "StageStats.processed, errors, dropped, skipped, expanded",
    split: split<StageStats>(ITEM_OUTCOME, "outcome", {
      processed: (s) => s.processed,
      failed: (s) => s.errors,
      dropped: (s) => s.dropped,
      skipped: (s) => s.skipped,
      expanded: (s) => s.expanded,
    }),
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.retries",
    kind: "counter",
    unit: "{attempt}",
    description: "Failed attempts the stage retried.",
    source: "StageStats.retries",
    read: (s) => s.retries,
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.overloads",
    kind: "counter",
    unit: "{attempt}",
    description: "Attempts that failed with an error the stage's overloadOn recognised.",
    source: "StageStats.overloads",
    read: (s) => s.overloads,
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.scale.events",
    kind: "counter",
    unit: "{event}",
    description: "Changes of the stage's worker count, by the kind of their reason.",
    source: "the flow's scale events, by scaleReasonKind(event.reason)",
    scaleEvents: true,
    split: { attribute: "flowrhythm.scale.reason", label: "reason", values: SCALE_REASON_KINDS },
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.processing.duration",
    kind: "histogram",
    unit: "s",
    description:
      "Processing time of the timed calls (one in timingSampleEvery), from dequeue until the function settles.",
    source: "the timing samples (tapTimings), kind processing",
    timing: "processing",
  },
  {
    scope: "stage",
    name: "flowrhythm.stage.queue.wait.duration",
    kind: "histogram",
    unit: "s",
    description:
      "Queue wait of the timed items (one in timingSampleEvery), from enqueue until a worker took the item.",
    source: "the timing samples (tapTimings), kind queueWait",
    timing: "queueWait",
  },
];

/**
 * Every metric a flow exports, to OpenTelemetry and to Prometheus alike. Counters count since
 * observation began, across runs of the flow (a run's final counts are kept when the next run
 * starts from zero); gauges and up-down counts are the current run's.
 */
export const METRICS: readonly MetricDef[] = Object.freeze(metrics);

/**
 * The Prometheus name of a metric, derived mechanically: dots become underscores, a unit of
 * seconds adds `_seconds`, a counter ends in `_total`; an annotation unit (`{item}`) adds nothing.
 */
export function prometheusName(def: MetricDef, prefix = ""): string {
  const base = def.name.replaceAll(".", "_");
  const unit = def.unit === "s" ? "_seconds" : "";
  return `${prefix}${base}${unit}${def.kind === "counter" ? "_total" : ""}`;
}
