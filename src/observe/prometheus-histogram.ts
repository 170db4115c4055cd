import type { TimingBuckets } from "./timing-buckets.js";

/** One series' labels. */
export type Labels = Readonly<Record<string, string>>;

/** The series of a histogram at a scrape: each one's labels and exact bucket counts. */
export type HistogramSeries = () => Iterable<readonly [Labels, TimingBuckets]>;

/** A sample as prom-client writes it: the sample's name, its labels, its value. */
interface Value {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/**
 * A histogram in prom-client's metric shape, written from exact bucket counts. prom-client's own
 * `Histogram` takes one `observe` per value and hashes the labels each time (about 0.7 µs), more
 * than an item costs the flow; the counts here are kept by {@link TimingBuckets} at a few
 * nanoseconds a sample. Registered with `registry.registerMetric`, it is read through `get()` like
 * any prom-client metric, and prom-client writes the text (names, escaping, OpenMetrics or not).
 */
export class PrometheusHistogram {
  readonly type = "histogram";
  /** How prom-client's cluster aggregator merges it across workers. */
  readonly aggregator = "sum";

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly series: HistogramSeries,
    private readonly onReset: () => void,
  ) {}

  /** The metric with its values: per series, cumulative buckets up to `+Inf`, then `_sum` and `_count`. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const values: Value[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [labels, b] of this.series()) {
      let cumulative = 0;
      b.bounds.forEach((le, i) => {
        cumulative += b.counts[i]!;
        values.push({ metricName: bucket, labels: { ...labels, le }, value: cumulative });
      });
      cumulative += b.counts[b.bounds.length]!;
      values.push({ metricName: bucket, labels: { ...labels, le: "+Inf" }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels, value: b.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: b.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** `registry.resetMetrics()`: the counts start again from zero. */
  reset(): void {
    this.onReset();
  }
}
