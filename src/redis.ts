/**
 * `flowrhythm/redis`: stages whose input queues live in Redis (BullMQ), so one flow runs in several
 * processes. It imports `bullmq` and `ioredis` (optional peer dependencies: install them to use this
 * entry); the flow itself never does.
 *
 * @example
 * ```ts
 * const pipeline = new Flow({ name: "crawl" })
 *   .addTransformer(parse, { name: "parse" })
 *   .addTransformer(fetchPage, { name: "fetch" })
 *   .addTransformer(store, { name: "store" });
 * const d = distribute(pipeline, { connection: { host: "127.0.0.1" }, remote: ["fetch", "store"] });
 * await d.run(urls);   // in one process; in the others: await d.serve({ handleSignals: true })
 * await d.close();      // closes the connections, so that the process can exit
 * ```
 *
 * @packageDocumentation
 * @module flowrhythm/redis
 */
export { Distributed, distribute, type RunRemoteOptions, type ServeOptions } from "./remote/distributed.js";
export type { Codec, DistributeOptions } from "./remote/options.js";
export type { FlowTopology } from "./remote/topology.js";
export { ItemCodecError, jsonCodec } from "./remote/json-codec.js";
