import {
  Counter,
  Gauge,
  type Histogram,
  type OpenMetricsContentType,
  type PrometheusContentType,
  type Registry,
  register,
} from "prom-client";
import { FlowConfigError } from "../errors.js";
import type { Flow } from "../flow/flow.js";
import { checkFlow } from "./check-flow.js";
import { tapTimings } from "../flow/observe.js";
import { isCallable } from "../internal/callable.js";
import { describeValue } from "../internal/describe.js";
import { check, type OptionsInput, optionsObject, parseOptions } from "../internal/parse-options.js";
import { tryGet } from "../internal/read-value.js";
import { FlowReader } from "./flow-reader.js";
import { type Labels, PrometheusHistogram } from "./prometheus-histogram.js";
import { TimingBuckets } from "./timing-buckets.js";
import {
  DEFAULT_BUCKETS,
  FLOW_ATTRIBUTE,
  METRICS,
  type MetricDef,
  prometheusName,
  STAGE_ATTRIBUTE,
} from "./metric-set.js";

/** A prom-client registry of either exposition format. */
type AnyRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;
type PromMetric = Counter<string> | Gauge<string> | PrometheusHistogram;
type Kind = "processing" | "queueWait";

/** `registerFlowMetrics`'s defaults (the registry's is prom-client's global `register`). */
export const PROMETHEUS_DEFAULTS = Object.freeze({ prefix: "", buckets: DEFAULT_BUCKETS });

const isRegistry = (v: unknown): boolean =>
  typeof v === "object" &&
  v !== null &&
  ["registerMetric", "getSingleMetric", "removeSingleMetric", "metrics"].every((m) =>
    isCallable(tryGet(v, m)),
  );

const shape = {
  /** Where the metrics are registered. @defaultValue prom-client's global `register` */
  registry: check<Registry<PrometheusContentType> | Registry<OpenMetricsContentType>>(
    isRegistry,
    "a prom-client Registry (new Registry(), or prom-client's register)",
  ).optional(),
  /**
   * Put before every metric's name (`"myapp_"` gives `myapp_flowrhythm_stage_workers`).
   * @defaultValue "" (names start with `flowrhythm_`)
   */
  prefix: check<string>(
    (v) => typeof v === "string" && /^(?:[a-zA-Z_][a-zA-Z0-9_]*)?$/.test(v),
    'a Prometheus name prefix: letters, digits and underscores, not starting with a digit (e.g. "myapp_")',
  ).optional(),
  /**
   * The histograms' bucket upper bounds, in seconds (`+Inf` is added). Flows registered on one
   * registry with one prefix share their histograms, so they must agree on the buckets.
   * @defaultValue 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300
   */
  buckets: check<readonly number[]>((v) => {
    if (!Array.isArray(v) || v.length === 0) return false;
    // Index by index, not `every`: a sparse array's holes would be skipped and pass.
    for (let i = 0; i < v.length; i++) {
      const b: unknown = v[i];
      if (typeof b !== "number" || !Number.isFinite(b) || b <= 0 || (i > 0 && b <= v[i - 1])) return false;
    }
    return true;
  }, "a non-empty array of finite numbers of seconds > 0, strictly increasing").optional(),
};

const schema = optionsObject(shape);

/** Options of `registerFlowMetrics`. */
export interface PrometheusMetricsOptions extends OptionsInput<typeof shape> {}

/** A stage's histogram series: its labels and the exact counts of its timing samples, by kind. */
interface StageSeries {
  readonly labels: Labels;
  readonly processing: TimingBuckets;
  readonly queueWait: TimingBuckets;
}

/** One observed flow in a {@link Group}. */
interface Member {
  readonly reader: FlowReader;
  readonly name: string;
  /** Takes the flow's timing tap off. */
  untap(): void;
  /** Each stage's histogram series, made (at zero) when the stage is first seen. */
  readonly stages: Map<string, StageSeries>;
}

/**
 * The metrics of one registry and prefix, shared by every flow registered there: prom-client
 * allows one metric per name, so flows tell apart by the `flow` label.
 */
class Group {
  readonly metrics = new Map<MetricDef, PromMetric>();
  /** The names the metrics were registered under (prom-client renames counters while it writes OpenMetrics). */
  readonly names: string[] = [];
  readonly members = new Set<Member>();
  #scrape: Map<MetricDef, [Labels, number][]> | null = null;

  constructor(
    readonly registry: AnyRegistry,
    readonly prefix: string,
    readonly buckets: readonly number[],
  ) {
    for (const def of METRICS) {
      const name = prometheusName(def, prefix);
      if (registry.getSingleMetric(name) !== undefined)
        throw new FlowConfigError(
          `registerFlowMetrics: option "prefix" = ${describeValue(prefix)}: the registry already has a metric named ${name} that flowrhythm did not register; expected a prefix that keeps the names apart`,
          { option: "prefix" },
        );
    }
    for (const def of METRICS) this.#create(def);
  }

  /** Whether the registry still holds this group's metrics (a `clear()` takes them out). */
  get registered(): boolean {
    const [def, metric] = this.metrics.entries().next().value!;
    return this.registry.getSingleMetric(prometheusName(def, this.prefix)) === metric;
  }

  #create(def: MetricDef): void {
    const name = prometheusName(def, this.prefix);
    const labelNames: string[] = [FLOW_ATTRIBUTE.label];
    if (def.scope === "stage") labelNames.push(STAGE_ATTRIBUTE.label);
    if (def.split) labelNames.push(def.split.label);
    const config = { name, help: def.description, labelNames, registers: [this.registry] };
    let metric: PromMetric;
    if (def.scope === "stage" && def.timing) {
      const kind = def.timing;
      // Reading the flows hands over their pending timing samples before the counts are written.
      metric = new PrometheusHistogram(
        name,
        def.description,
        labelNames,
        () => this.#series(kind),
        () => this.#zero(),
      );
      this.registry.registerMetric(metric as unknown as Histogram<string>);
    } else if (def.kind === "counter")
      metric = new Counter({ ...config, collect: () => this.#fill(def, metric as Counter<string>) });
    else metric = new Gauge({ ...config, collect: () => this.#fill(def, metric as Gauge<string>) });
    this.metrics.set(def, metric);
    this.names.push(name);
  }

  *#series(kind: Kind): Iterable<readonly [Labels, TimingBuckets]> {
    this.scrape();
    for (const m of this.members) for (const s of m.stages.values()) yield [s.labels, s[kind]];
  }

  #zero(): void {
    for (const m of this.members) m.stages.clear();
  }

  /** Sets a metric's series from this scrape's readings: the stages gone since the last scrape go with them. */
  #fill(def: MetricDef, metric: Counter<string> | Gauge<string>): void {
    const points = this.scrape().get(def) ?? [];
    metric.reset();
    if (metric instanceof Counter) for (const [labels, n] of points) metric.inc(labels, n);
    else for (const [labels, n] of points) metric.set(labels, n);
  }

  /**
   * Every flow's readings for the scrape under way: one `stats()` per flow per scrape. A scrape
   * calls every metric's `collect` in one synchronous pass, so the readings are kept until the
   * next microtask.
   */
  scrape(): Map<MetricDef, [Labels, number][]> {
    if (this.#scrape) return this.#scrape;
    const out = new Map<MetricDef, [Labels, number][]>();
    for (const m of this.members) {
      const stats = m.reader.read((def, stage, value, n) => {
        const labels: Record<string, string> = { [FLOW_ATTRIBUTE.label]: m.name };
        if (stage !== null) labels[STAGE_ATTRIBUTE.label] = stage;
        if (value !== null) labels[def.split!.label] = value;
        let list = out.get(def);
        if (!list) out.set(def, (list = []));
        list.push([labels, n]);
      });
      for (const st of stats.stages) this.stageSeries(m, st.stageName);
    }
    this.#scrape = out;
    queueMicrotask(() => {
      this.#scrape = null;
    });
    return out;
  }

  /** A stage's histogram series, made at zero the first time the stage is seen. */
  stageSeries(m: Member, stage: string): StageSeries {
    let series = m.stages.get(stage);
    if (!series) {
      series = {
        labels: { [FLOW_ATTRIBUTE.label]: m.name, [STAGE_ATTRIBUTE.label]: stage },
        processing: new TimingBuckets(this.buckets),
        queueWait: new TimingBuckets(this.buckets),
      };
      m.stages.set(stage, series);
    }
    return series;
  }

  /** Takes a flow out; the last one out takes the metrics out of the registry. */
  leave(m: Member): void {
    if (!this.members.delete(m) || this.members.size > 0) return;
    for (const name of this.names) this.registry.removeSingleMetric(name);
    groups.get(this.registry)?.delete(this.prefix);
  }
}

/** The groups of each registry, by prefix. */
const groups = new WeakMap<object, Map<string, Group>>();

function groupFor(registry: AnyRegistry, prefix: string, buckets: readonly number[]): Group {
  let byPrefix = groups.get(registry);
  if (!byPrefix) groups.set(registry, (byPrefix = new Map()));
  let group = byPrefix.get(prefix);
  if (group && !group.registered) {
    // The registry was cleared (`registry.clear()`, as test suites do between tests): the old
    // flows' series are gone with it, so they leave, and the flows registered now start afresh.
    for (const m of group.members) {
      m.untap();
      m.reader.close();
    }
    group.members.clear(); // an old unregister function then finds nothing to take out
    byPrefix.delete(prefix);
    group = undefined;
  }
  if (group) {
    if (group.buckets.length !== buckets.length || group.buckets.some((b, i) => b !== buckets[i]))
      throw new FlowConfigError(
        `registerFlowMetrics: option "buckets" = ${describeValue(buckets)}: expected the buckets of the flows already registered on this registry with prefix ${describeValue(prefix)} (${group.buckets.join(", ")}), since they share their histograms`,
        { option: "buckets" },
      );
    return group;
  }
  group = new Group(registry, prefix, buckets);
  byPrefix.set(prefix, group);
  return group;
}

/**
 * Exposes a flow's metrics to Prometheus through prom-client: the same metrics as
 * `observeMetrics` (flowrhythm/opentelemetry), named from the same table — dots become
 * underscores, counters end in `_total`, durations in `_seconds` — with the labels `flow` (the
 * flow's `name` option), `stage`, `state`, `outcome` and `reason`.
 *
 * Nothing is counted per item: each metric's `collect()` reads one `flow.stats()` per scrape
 * (shared by all the metrics of that scrape), and the histograms are fed on the flow's tick from
 * the timed calls (one in `timingSampleEvery`), so they count timed calls, not all calls.
 * Counters count from this call on, across runs of the flow; before the flow starts there are no
 * stage series.
 *
 * Several flows can share a registry (give each its own `name`): they share the metrics, told
 * apart by the `flow` label.
 *
 * @param flow - the flow to expose, running or not.
 * @param options - the registry, a name prefix and the histogram buckets.
 * @returns A function that takes the flow's series out (and the metrics, with the last flow);
 * calling it again does nothing.
 * @throws FlowConfigError for a bad option, a flow whose name is already registered there, or a
 * registry that already holds a metric of the same name.
 *
 * @example
 * ```ts
 * import { Registry } from "prom-client";
 * import { registerFlowMetrics } from "flowrhythm/prometheus";
 *
 * const registry = new Registry();
 * const unregister = registerFlowMetrics(new Flow({ name: "ingest" }), { registry });
 * // in the /metrics handler:
 * res.setHeader("Content-Type", registry.contentType);
 * res.end(await registry.metrics());
 * ```
 */
export function registerFlowMetrics(flow: Flow<any, any>, options?: PrometheusMetricsOptions): () => void {
  checkFlow("registerFlowMetrics", flow);
  const o = parseOptions(schema, options, "registerFlowMetrics");
  const registry = o.registry ?? register;
  const group = groupFor(
    registry,
    o.prefix ?? PROMETHEUS_DEFAULTS.prefix,
    o.buckets ?? PROMETHEUS_DEFAULTS.buckets,
  );
  const name = flow.name;
  for (const m of group.members)
    if (m.name === name)
      throw new FlowConfigError(
        `registerFlowMetrics: flow ${describeValue(name)} is already registered on this registry; expected each flow to have its own name (new Flow({ name }))`,
        { option: "flow" },
      );
  const member: Member = {
    reader: new FlowReader(flow),
    name,
    stages: new Map(),
    untap: tapTimings(flow, (stage, kind, samplesMs, count) => {
      group.stageSeries(member, stage)[kind].add(samplesMs, count);
    }),
  };
  group.members.add(member);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    member.untap();
    member.reader.close();
    group.leave(member);
  };
}
