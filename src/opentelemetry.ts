/**
 * `flowrhythm/opentelemetry`: a flow's metrics and item traces in OpenTelemetry. It imports only
 * `@opentelemetry/api` (an optional peer dependency: install it, and the SDK of your choice, to
 * use this entry); the flow itself never does, so a flow that is not observed pays nothing.
 *
 * @example
 * ```ts
 * import { metrics } from "@opentelemetry/api";
 * import { observeMetrics, traceItems } from "flowrhythm/opentelemetry";
 *
 * const flow = new Flow({ name: "ingest" }).addTransformer(parse).setConsumer(save);
 * observeMetrics(flow, metrics.getMeter("my-service"));
 * traceItems(flow, { sampleRate: 0.01 });
 * await flow.run(source);
 * ```
 *
 * @packageDocumentation
 * @module flowrhythm/opentelemetry
 */
export { observeMetrics } from "./observe/otel-metrics.js";
export { type TraceOptions, traceItems } from "./observe/otel-traces.js";
