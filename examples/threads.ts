// CPU-bound work in worker threads: a `threaded` stage runs its module's default export in
// threads, one per worker, and with no strategy of its own scales them up to the cores (all
// threaded stages of a flow share that budget). Run: npx tsx examples/threads.ts
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Flow, threaded } from "../src/index.js";
import digest, { type Chunk } from "./workers/hash.worker.js";

const chunks = (n: number): Chunk[] =>
  Array.from({ length: n }, (_, i) => ({
    name: `file-${i}`,
    bytes: new TextEncoder().encode(`contents of file ${i}`),
  }));

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const results: { name: string; digest: string }[] = [];
const flow = new Flow<Chunk>()
  .setProducer(chunks(400))
  // The type parameter gives the stage the module's item and result types.
  .addTransformer(
    threaded<typeof import("./workers/hash.worker.js")>(new URL("./workers/hash.worker.ts", import.meta.url)),
    {
      name: "digest",
      // The buffers move into the thread rather than being copied (the producer does not reuse them).
      // threaded(url, { transfer: (chunk) => [chunk.bytes.buffer] }) would say so; a small item is cheaper copied.
    },
  )
  .setConsumer((r) => {
    results.push(r);
  });

let peak = 0;
flow.on("scale", (e) => {
  peak = Math.max(peak, e.to);
});
await flow.run();
delay.disable();

// The check: the threads computed what the same function computes here.
const expected = digest(chunks(1)[0]!, { id: 1, worker: { id: 0, data: { hashed: 0 } } } as never).digest;
const first = results.find((r) => r.name === "file-0")!;
if (results.length !== 400 || first.digest !== expected) throw new Error("the threads' digests differ");
const s = flow.stageStats("digest")!;
console.log(
  `ok: ${results.length} digests in threads (peak ${peak} threads, ${s.unclosedResources} left unclosed); the main event loop's p99 delay stayed at ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
);
