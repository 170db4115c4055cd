import { Worker } from "node:worker_threads";
import type { StageContext } from "../../../src/index.js";
import type { CallSignal } from "../../../src/runtime/stage/call-signal.js";
import type { CallSite, Lane } from "../../../src/runtime/stage/call-site.js";
import {
  closeResource,
  type PoolEvents,
  type ResourceWorker,
} from "../../../src/runtime/stage/worker-resource.js";

/**
 * A prototype of calls in worker threads: one thread per lane (so a lane's setup and close are
 * its thread's), the stage's function sent as source text. A thread that dies is replaced on the
 * lane's next call (its setup runs again), so a retry — which stays with its worker — gets a
 * live thread. Not a design for the real pool: a shared pool (piscina, tinypool) cannot pin a
 * worker's calls to one thread.
 */
export interface ThreadSource {
  fn: string;
  setup?: string | undefined;
  close?: string | undefined;
}

const WORKER_URL = new URL("./thread-lane.worker.mjs", import.meta.url);

type Encoded =
  | { thrown: unknown }
  | { name: string; message: string; stack?: string; props: object; cause?: Encoded };

/** Revives an error the thread encoded: its name, message, stack, cause and own properties. */
export function decodeError(e: Encoded): unknown {
  if ("thrown" in e) return e.thrown;
  const error = new Error(e.message, e.cause === undefined ? undefined : { cause: decodeError(e.cause) });
  Object.defineProperty(error, "name", { value: e.name, configurable: true, writable: true });
  if (e.stack !== undefined) error.stack = e.stack;
  return Object.assign(error, e.props);
}

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void; unlisten: () => void };

/** What the lane sends for `ctx`: what survives structured clone (no signal; `data` lives in the thread). */
const ctxOf = (ctx: StageContext) => ({ attempt: ctx.attempt, stage: ctx.stage });

/** One thread of a lane, from spawn to exit. */
class LaneThread {
  readonly thread: Worker;
  readonly ready: Promise<{ error: unknown } | null>;
  readonly pending = new Map<number, Pending>();
  gone: Error | null = null;
  #closing: { resolve: () => void; reject: (e: unknown) => void } | null = null;

  constructor(source: ThreadSource, id: number) {
    this.thread = new Worker(WORKER_URL, { workerData: { ...source, info: { id } } });
    ThreadCalls.live++;
    this.ready = new Promise((resolve) => {
      this.thread.on("message", (m) => {
        if (m.type === "ready") resolve(null);
        else if (m.type === "setupFailed") resolve({ error: decodeError(m.error) });
        else if (m.type === "result" || m.type === "error") {
          const p = this.pending.get(m.id);
          if (p === undefined) return;
          this.pending.delete(m.id);
          p.unlisten();
          if (m.type === "result") p.resolve(m.value);
          else p.reject(decodeError(m.error));
        } else if (m.type === "closed") this.#closing?.resolve();
        else if (m.type === "closeFailed") this.#closing?.reject(decodeError(m.error));
      });
      const die = (why: Error) => {
        if (this.gone !== null) return;
        this.gone = why;
        ThreadCalls.live--;
        resolve({ error: why });
        // A crash fails every call in flight on this thread.
        for (const p of this.pending.values()) {
          p.unlisten();
          p.reject(why);
        }
        this.pending.clear();
        this.#closing?.resolve();
      };
      this.thread.on("error", (e) => die(new Error(`worker thread crashed: ${e.message}`, { cause: e })));
      this.thread.on("exit", (code) => die(new Error(`worker thread exited with code ${code}`)));
    });
  }

  call(id: number, item: unknown, ctx: StageContext): Promise<unknown> {
    const thread = this.thread;
    // Throws DataCloneError synchronously for what cannot cross (a function, a symbol).
    thread.postMessage({ type: "call", id, item, ctx: ctxOf(ctx) });
    const signal = ctx.signal;
    // Per call: a listener and a closure — the cost the in-loop lane does not pay.
    const onAbort = () => thread.postMessage({ type: "abort", id, reason: String(signal.reason) });
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, unlisten: () => signal.removeEventListener("abort", onAbort) });
    });
  }

  close(): Promise<void> {
    if (this.gone !== null) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#closing = { resolve, reject };
      this.thread.postMessage({ type: "close" });
    });
  }
}

export class ThreadCalls implements CallSite {
  readonly values = "cloned" as const;
  /** Threads alive now (for tests that check nothing is left running). */
  static live = 0;
  /** Threads started, replacements included. */
  static spawned = 0;

  constructor(
    private readonly source: ThreadSource,
    private readonly pool: PoolEvents,
  ) {}

  open(worker: ResourceWorker): Lane | string | Promise<Lane | string> {
    const error = this.pool.setupError;
    if (error !== null)
      return {
        call: () => {
          throw error;
        },
        broken: true,
        close: (calls) => closeResource(worker, null, calls),
      };
    return this.#open(worker);
  }

  async #open(worker: ResourceWorker): Promise<Lane | string> {
    const spawn = () => {
      ThreadCalls.spawned++;
      return new LaneThread(this.source, worker.info.id);
    };
    let current = spawn();
    const answer = await current.ready;
    if (answer !== null) {
      void current.thread.terminate();
      if (worker.abandoned) return "abandoned";
      this.pool.setupFailed(answer.error);
      return "thread setup failed";
    }
    if (worker.abandoned) {
      await current.thread.terminate();
      return "abandoned";
    }
    this.pool.setupSucceeded();
    worker.resourceOpen = true;
    let nextId = 0;
    const call = (item: unknown, ctx: StageContext): Promise<unknown> => {
      if (current.gone === null) return current.call(nextId++, item, ctx);
      // The thread died: a fresh one (its setup runs again) takes the call.
      current = spawn();
      return current.ready.then((failed) => {
        if (failed !== null) throw failed.error;
        return current.call(nextId++, item, ctx);
      });
    };
    const resource = { process: call, close: () => current.close() };
    return {
      call,
      broken: false,
      close: async (calls: CallSignal) => {
        // The same bounded close as a perWorker resource; then the thread goes, whatever happened.
        await closeResource(worker, resource, calls);
        await current.thread.terminate();
      },
    };
  }
}
