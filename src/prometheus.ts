/**
 * Prometheus metrics of a flow, through prom-client (an optional peer dependency: install it to
 * use this entry point; nothing else in flowrhythm loads it). The metrics are the ones
 * `flowrhythm/opentelemetry` exports, named from the same table, read from `flow.stats()` once
 * per scrape: nothing is counted per item. The table, the labels and a `/metrics` server are in
 * docs/observability.md.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { Registry } from "prom-client";
 * import { Flow } from "flowrhythm";
 * import { registerFlowMetrics } from "flowrhythm/prometheus";
 *
 * const registry = new Registry();
 * const flow = new Flow({ name: "ingest" }).addTransformer(parse).setConsumer(store);
 * registerFlowMetrics(flow, { registry });
 * createServer(async (_req, res) => {
 *   res.setHeader("Content-Type", registry.contentType);
 *   res.end(await registry.metrics());
 * }).listen(9464);
 * await flow.run(source);
 * ```
 *
 * @packageDocumentation
 * @module flowrhythm/prometheus
 */
export { registerFlowMetrics } from "./observe/prometheus-metrics.js";

export type { PrometheusMetricsOptions } from "./observe/prometheus-metrics.js";
