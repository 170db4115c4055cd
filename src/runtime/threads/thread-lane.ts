import type { EventLoopUtilization } from "node:perf_hooks";
import type { Worker } from "node:worker_threads";
import { Piscina } from "piscina";
import { hasTsx, isTypeScript } from "../../internal/tsx.js";
import { LastValue } from "../../model/item/last.js";
import { Skip } from "../../model/item/skip.js";
import type { ThreadSpec } from "../../model/threaded.js";
import type { StageContext, WorkerResource } from "../../model/types.js";
import { MAX_TIMER_MS } from "../../internal/option-fields.js";
import type { WorkerContext } from "../stage/worker-context.js";
import { FlowConfigError } from "../../errors.js";
import {
  decodeError,
  Kind,
  type LaneInfo,
  Op,
  type Result,
  type Task,
  UNLOADABLE,
  type WireError,
} from "./wire.js";

const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
/** The module every thread runs (a `.ts` source under tsx and vitest, the build's `.js` otherwise). */
const ENTRY = new URL(`./thread-entry.${ext}`, import.meta.url).href;

/** What a lane tells its stage. */
export interface LaneStage {
  readonly name: string;
  readonly run: { readonly stopping: boolean };
  resourceUnclosed(why: string): void;
  /** A thread failed outside any call (an error its leftover async work threw, say): logged. */
  threadFailed(error: unknown): void;
}

/** How long past `closeTimeoutMs` a thread whose close hangs is left before it is ended. */
const CLOSE_GRACE_MS = 100;

const isAbort = (e: unknown) => e instanceof Error && e.name === "AbortError";

/**
 * One worker's thread, kept by a piscina pool of exactly one thread: piscina starts it, ends it on
 * an aborted call (a timeout, `stop()`), and starts a fresh one (whose `setup` runs again) for
 * the next call after a crash. A pool of one pins the worker's calls, its `setup` and its `close`
 * to one thread, which a shared pool cannot. The lane is the worker's resource: `process` per
 * call, `close` once.
 */
export class ThreadLane implements WorkerResource<unknown, unknown> {
  readonly #pool: Piscina;
  readonly #transfer: ThreadSpec["transfer"];
  /** Whether the module exports a `close`. */
  #hasClose = false;
  /** Whether the live thread ran `setup` (and so has a `close` to run). */
  #setUp = false;
  #elu: EventLoopUtilization | undefined;
  #eluThread: Worker | undefined;
  #destroyed = false;
  /** The pool could not start a thread at all: it is left as it is (see `#setup`). */
  #orphaned = false;
  /** An error piscina gave while a setup was under way (see the 'error' listener). */
  #lateError: unknown = undefined;
  /** Fails the setup under way: its thread could not start. */
  #failSetup: ((error: unknown) => void) | null = null;
  /** A fresh thread's setup under way, after a crash or a timeout. */
  #starting: Promise<void> | null = null;
  readonly module: string;
  readonly execArgv: readonly string[];

  constructor(
    spec: ThreadSpec,
    private readonly stage: LaneStage,
    /** What every call's `ctx` shares: sent once, when the thread opens. */
    private readonly info: LaneInfo,
    worker: number,
    private readonly closeTimeoutMs: number,
  ) {
    this.#transfer = spec.transfer;
    this.module = spec.module;
    const execArgv =
      ext === "ts" && !isTypeScript(spec.module) && !hasTsx(spec.execArgv)
        ? [...spec.execArgv, "--import", "tsx"]
        : spec.execArgv;
    this.execArgv = execArgv;
    this.#pool = new Piscina({
      filename: ENTRY,
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: MAX_TIMER_MS,
      concurrentTasksPerWorker: 1,
      // Threads wait for tasks in their event loop: their utilization then reads true, and async
      // work a call left behind goes on between calls.
      atomics: "disabled",
      recordTiming: false,
      execArgv,
      resourceLimits: spec.resourceLimits,
      workerData: { module: spec.module, worker },
    });
    // However a thread ends but by the lane's close (a crash, an exit, its memory limit, a call
    // ended by timeoutMs or stop()), its setup has no close: reported, and the next call sets up a fresh one.
    this.#pool.on("workerDestroy", () => {
      if (this.#destroyed) return;
      const fail = this.#failSetup;
      if (fail !== null) {
        // The thread started for a setup under way ended: it could not start, or its setup
        // crashed. The error, if piscina has one, comes right after this event.
        setImmediate(() => {
          if (this.#failSetup === fail)
            fail(this.#startError(this.#lateError ?? new Error("its worker thread ended while it started")));
        });
        return;
      }
      if (!this.#setUp) return;
      this.#setUp = false;
      if (this.#hasClose)
        this.stage.resourceUnclosed(
          "its thread ended before close() could run (it crashed, exited, passed its resourceLimits, or a timeout or stop() ended its call)",
        );
      // A fresh thread starts now, not when the next call comes: its start and setup overlap the
      // retry's backoff or the next item's wait instead of eating into that call's timeoutMs. On
      // the next turn: the 'error' piscina may emit for the thread that ended comes first.
      if (!stage.run.stopping)
        setImmediate(() => {
          if (!this.#destroyed && !this.#setUp) this.#ensureSetUp().then(undefined, () => {});
        });
    });
    // piscina emits 'error' for a thread that fails with no task of its own: one whose leftover
    // async work threw between calls (reported; the next call gets a fresh thread), or one that
    // could not start (its setup task would wait for ever: the setup fails with it). Unheard,
    // the event would end the process. While a setup is under way the error is kept: the ended
    // thread was the setup's (it fails with it), or an earlier one's whose 'error' came after its
    // 'exit' (reported once the setup has its thread).
    this.#pool.on("error", (error: unknown) => {
      if (this.#destroyed) return;
      if (this.#failSetup !== null) this.#lateError = error;
      else stage.threadFailed(error);
    });
  }

  /** Starts the thread and runs the module's `setup`; rejects with what went wrong (the lane is then destroyed). */
  async open(): Promise<this> {
    try {
      await this.#setup();
    } catch (error) {
      this.#destroy();
      throw error;
    }
    return this;
  }

  /** Runs `setup` in the thread (starting one if none runs); rejects with why it could not. */
  async #setup(): Promise<void> {
    let r: Result;
    let task: Promise<Result>;
    try {
      task = this.#pool.run([Op.Open, this.info] satisfies Task) as Promise<Result>;
    } catch (error) {
      // Node refused to start the thread (its flags): the pool holds a task it will never run,
      // whose rejection nobody could hear — leave the pool to the collector rather than destroy it.
      this.#orphaned = true;
      throw this.#startError(error);
    }
    // A thread that cannot start leaves the task queued for ever (the pool's 'error' ends the wait).
    const failed = new Promise<never>((_, reject) => {
      this.#failSetup = reject;
    });
    task.then(undefined, () => {});
    try {
      r = await Promise.race([task, failed]);
    } catch (error) {
      this.#lateError = undefined;
      if (error instanceof FlowConfigError) throw error;
      throw this.#failure(error);
    } finally {
      this.#failSetup = null;
    }
    if (r[0] === Kind.SetupFailed) {
      // The thread keeps its failed load: end it, so that the next call starts another.
      void this.#pool.threads[0]?.terminate();
      throw this.#setupError(decodeError(r[1] as WireError));
    }
    this.#hasClose = r[1] === true;
    this.#setUp = true;
    const late = this.#lateError;
    this.#lateError = undefined;
    if (late !== undefined) this.stage.threadFailed(late);
    const t = this.#pool.threads[0];
    this.#eluThread = t;
    this.#elu = t?.performance.eventLoopUtilization();
  }

  readonly process = (item: unknown, ctx: StageContext): Promise<unknown> => {
    // The thread ended (a crash, a timeout): a fresh one runs setup before the call, so that
    // every setup is known and paired with a close or reported.
    if (!this.#setUp) return this.#ensureSetUp().then(() => this.#call(item, ctx));
    return this.#call(item, ctx);
  };

  /** The setup of a fresh thread: the one under way, or a new one. */
  #ensureSetUp(): Promise<void> {
    if (this.#starting === null)
      this.#starting = this.#setup().finally(() => {
        this.#starting = null;
      });
    return this.#starting;
  }

  #call(item: unknown, ctx: StageContext): Promise<unknown> {
    const c = ctx as WorkerContext;
    const task: Task = [Op.Call, item, c.id, c.attempt, c.parentId, c.ids];
    const transfer = this.#transfer;
    return this.#pool
      .run(
        task,
        transfer === null
          ? { signal: c.signal }
          : { signal: c.signal, transferList: transfer(item) as never },
      )
      .then(this.#decode, this.#failed);
  }

  readonly #decode = (answer: unknown): unknown => {
    if (typeof answer !== "object" || answer === null) return answer;
    const r = answer as Result;
    switch (r[0]) {
      case Kind.Value:
        return r[1];
      case Kind.Skip:
        return Skip;
      case Kind.Last:
        return new LastValue(r[1]);
      default:
        throw decodeError(r[1] as WireError);
    }
  };

  /** A thread that could not start: its Node flags, when Node refused them, are the stage's definition at fault. */
  #startError(error: unknown): unknown {
    const code = (error as { code?: unknown })?.code;
    if (code !== "ERR_WORKER_INVALID_EXEC_ARGV" && code !== "ERR_WORKER_INIT_FAILED") return error;
    return new FlowConfigError(
      `stage "${this.stage.name}": threaded: a worker thread could not start with execArgv = ${JSON.stringify(this.execArgv)} (${(error as Error).message}); worker threads take module-loading flags (--import, --require, --conditions), not V8 or process flags`,
      { option: "execArgv", cause: error },
    );
  }

  /** A module the thread could not use is the stage's definition at fault: a FlowConfigError that names the fix. */
  #setupError(error: unknown): unknown {
    if ((error as { code?: unknown })?.code !== UNLOADABLE) return error;
    const ts =
      isTypeScript(this.module) && /could not be loaded/.test((error as Error).message)
        ? "; a .ts module loads in threads through tsx (installed and found from this package), or point at the compiled .js"
        : "";
    return new FlowConfigError(`stage "${this.stage.name}": threaded: ${(error as Error).message}${ts}`, {
      option: "moduleUrl",
      cause: error,
    });
  }

  readonly #failed = (error: unknown): never => {
    throw this.#failure(error);
  };

  /** What a rejected task means: the item could not cross, or the thread ended (then its close() cannot run). */
  #failure(error: unknown): unknown {
    const alive = this.#pool.threads.length > 0;
    if (isAbort(error)) return error;
    const stage = `stage "${this.stage.name}"`;
    if (alive)
      return Object.assign(
        new Error(
          `${stage}: the item cannot be sent to a worker thread (${describe(error)}); items cross by structured clone: plain data, arrays, Map, Set, Date, typed arrays — no functions, symbols or class instances' methods`,
          { cause: error },
        ),
        { name: "DataCloneError" },
      );
    if (!(error instanceof Error))
      return Object.assign(
        new Error(
          `${stage}: its worker thread died sending the result back: a result must survive structured clone (no functions, symbols or class instances' methods)`,
          { cause: error },
        ),
        { name: "DataCloneError" },
      );
    const code = (error as { code?: string }).code;
    const what =
      code === "ERR_WORKER_OUT_OF_MEMORY"
        ? "ran out of memory (its resourceLimits)"
        : /exited with code/.test(error.message)
          ? error.message.replace(/^worker /, "")
          : `crashed: ${error.message}`;
    return new Error(
      `${stage}: its worker thread ${what} during the call; a fresh thread takes the next one`,
      {
        cause: error,
      },
    );
  }

  /** Runs the module's `close` in the thread (when it has one and the thread lives), then ends the thread. */
  readonly close = async (): Promise<void> => {
    if (this.#destroyed) return;
    if (!this.#hasClose || !this.#setUp || this.#pool.threads.length === 0) {
      this.#destroy();
      return;
    }
    // The thread ends when close settles, or a little after closeTimeoutMs if it does not: the
    // worker's close wait, bounded by closeTimeoutMs itself, has then reported the resource as
    // not closed and moved on (ending the thread first would read as a close that threw).
    const timer = setTimeout(() => this.#destroy(), this.closeTimeoutMs + CLOSE_GRACE_MS);
    timer.unref();
    try {
      const r = (await this.#pool.run([Op.Close] satisfies Task)) as Result;
      if (r[0] === Kind.Thrown) throw decodeError(r[1] as WireError);
    } finally {
      clearTimeout(timer);
      this.#destroy();
    }
  };

  /** The thread's event-loop utilization since the last reading (0–1), or null with no thread. */
  utilization(): number | null {
    const t = this.#pool.threads[0];
    // Read from the end of the thread's setup on: its start (loading modules, compiling a `.ts`
    // one) is busy time that says nothing of its calls, and read a waiting thread as busy.
    if (t === undefined || this.#eluThread !== t || this.#elu === undefined) return null;
    const perf = t.performance;
    const now = perf.eventLoopUtilization();
    const u = perf.eventLoopUtilization(now, this.#elu).utilization;
    this.#elu = now;
    return Math.min(1, Math.max(0, u));
  }

  /** Ends the thread now, whatever it is doing (its close, if it has one, does not run). */
  terminate(): void {
    this.#destroy();
  }

  #destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (!this.#orphaned) this.#pool.destroy().then(undefined, () => {});
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
