// A worker module for examples/threads.ts: its default export runs in a worker thread, once per
// item. What crosses in and out is copied (structured clone) — plain data, arrays, typed arrays,
// Map, Set, Date — or moved, for buffers marked to move.
import { createHash } from "node:crypto";
import type { StageContext, WorkerInfo } from "../../src/index.js";

export interface Chunk {
  name: string;
  bytes: Uint8Array;
}

/** Once per thread, before its first item: the thread's own state lives in `worker.data`. */
export function setup(worker: WorkerInfo): void {
  worker.data.hashed = 0;
}

/** CPU-bound work: a key stretched by many rounds of SHA-256. */
export default function digest(
  chunk: Chunk,
  ctx: StageContext,
): { name: string; digest: string; id: number } {
  let h = createHash("sha256").update(chunk.bytes).digest();
  for (let i = 0; i < 2000; i++) h = createHash("sha256").update(h).digest();
  (ctx.worker.data.hashed as number)++;
  return { name: chunk.name, digest: h.toString("hex").slice(0, 16), id: ctx.id };
}

/** Once per thread, when its worker leaves (scale-down, the end of the run, stop()). */
export function close(worker: WorkerInfo): void {
  void worker.data.hashed;
}
