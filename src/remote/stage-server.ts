import { type Job, Worker } from "bullmq";
import type { Flow } from "../flow/flow.js";
import { bounded, EXIT_WAIT_MS, type Ledger, type RunState, runsIn } from "./ledger.js";
import type { Codec } from "./options.js";
import type { JobData } from "./remote-sink.js";
import { SegmentRun } from "./segment-run.js";

/** What a stage server is built with. */
export interface StageServerConfig {
  readonly stage: string;
  /** The stage's place among the remote stages, from 1. */
  readonly index: number;
  readonly queueName: string;
  readonly connection: Record<string, unknown>;
  readonly prefix: string;
  readonly ledger: Ledger;
  readonly codec: Codec;
  readonly lockMs: number;
  readonly maxStalledCount: number;
  readonly prefetch: number;
  readonly last: boolean;
  /** The item's job keys at the remote stages after this one (for a redelivered job's check). */
  laterJobKeys(jobId: string): string[];
  makeFlow(runId: string, idOf: () => number): Flow<unknown, unknown>;
  /** A failure no item's outcome carries. */
  fault(what: string, error: unknown): void;
  /** An item failed here before its segment ran it (it could not be read, or stalled too often). */
  failed(runId: string, id: number, stage: string, error: unknown): Promise<void>;
}

const RUN_ID = /^[0-9a-f-]{36}$/;
/** The largest item id a job may name (its ledger holds half a byte per id up to it: 128 MiB). */
const MAX_ID = 2 ** 28;

/** Whether a job's data has the shape this library writes (a foreign job must not grow a ledger). */
function isJobData(d: unknown): d is JobData {
  const j = d as Partial<JobData> | null;
  return (
    typeof j === "object" &&
    j !== null &&
    typeof j.r === "string" &&
    RUN_ID.test(j.r) &&
    Number.isSafeInteger(j.i) &&
    j.i! >= 1 &&
    j.i! <= MAX_ID &&
    typeof j.v === "string"
  );
}

/** How often the servers read the states of the runs they hold items of. */
const STATE_POLL_MS = 500;

/**
 * Serves one remote stage in this process: a BullMQ worker takes the stage's jobs (at most
 * `prefetch` held at once) and hands each to its run's {@link SegmentRun}. A job completes when its
 * item's outcome here is settled; a job whose item has gone on already (it was redelivered after
 * its process died past that point) completes without running again.
 */
export class StageServer {
  readonly #worker: Worker<JobData>;
  readonly #runs = new Map<string, SegmentRun>();
  readonly #states = new Map<string, RunState | null>();
  readonly #poll: ReturnType<typeof setInterval>;
  #leaving = false;

  constructor(private readonly config: StageServerConfig) {
    this.#worker = new Worker<JobData>(config.queueName, (job, token) => this.#process(job, token ?? ""), {
      connection: { ...config.connection, maxRetriesPerRequest: null },
      prefix: config.prefix,
      concurrency: config.prefetch,
      lockDuration: config.lockMs,
      stalledInterval: config.lockMs,
      maxStalledCount: config.maxStalledCount,
      drainDelay: 1,
    });
    this.#worker.on("error", (error) => config.fault(`BullMQ worker of stage "${config.stage}"`, error));
    this.#worker.on("failed", (job, error) => {
      // A job BullMQ failed itself (stalled past maxStalledCount): the item's outcome, reported.
      if (job !== undefined && /stalled/.test(error.message))
        void config.failed(job.data.r, job.data.i, config.stage, error);
    });
    this.#poll = setInterval(() => void this.#pollStates(), STATE_POLL_MS);
    this.#poll.unref();
  }

  /** Items held in this process now, over every run. */
  get held(): number {
    let n = 0;
    for (const run of this.#runs.values()) n += run.held;
    return n;
  }

  /** The stats of the segment flows running here. */
  flows(): Flow<unknown, unknown>[] {
    return [...this.#runs.values()].map((r) => r.flow);
  }

  async #process(job: Job<JobData>, token: string): Promise<void> {
    const cfg = this.config;
    if (!isJobData(job.data)) {
      // Not a job of this library's (someone else wrote to the queue): completed, never run.
      cfg.fault(
        `a foreign job in stage "${cfg.stage}"'s queue`,
        new Error(`job ${job.id}'s data is not { r: run id, i: item id, v: string }; skipped`),
      );
      return;
    }
    const { r: runId, i: id, v } = job.data;
    const state = this.#states.has(runId) ? this.#states.get(runId)! : await this.#readState(runId);
    if (state === null) {
      // No such run (its keys expired, or the job is forged): nobody counts its items any more, so
      // it is completed without a record (which would make a ledger for it).
      cfg.fault(
        `a job of an unknown run in stage "${cfg.stage}"'s queue`,
        new Error(`run ${runId} has no state in Redis; job ${job.id} skipped`),
      );
      return;
    }
    if (!runsIn(state, cfg.index)) {
      // The run was stopped or ended by a Last (or its keys expired): the item is dropped, recorded.
      await cfg.ledger.record(
        runId,
        id,
        "dropped",
        state?.startsWith("last:") ? "dropped:UPSTREAM_TERMINATED" : "dropped:STOPPED",
      );
      return;
    }
    if (
      (job.attemptsStarted > 1 || job.stalledCounter > 0) &&
      (await cfg.ledger.progressed(runId, id, cfg.laterJobKeys(job.id!)))
    )
      return;
    let value: unknown;
    try {
      value = cfg.codec.decode(v);
    } catch (error) {
      await cfg.failed(runId, id, cfg.stage, error);
      return;
    }
    let run = this.#runs.get(runId);
    if (run === undefined || (run.closed && !this.#leaving)) {
      run = new SegmentRun(runId, {
        ledger: cfg.ledger,
        last: cfg.last,
        makeFlow: cfg.makeFlow,
        fault: cfg.fault,
        lastReturned: (at) => this.#lastReturned(at),
      });
      this.#runs.set(runId, run);
      const started = run;
      void started.finished.then(() => {
        if (this.#runs.get(runId) === started) this.#runs.delete(runId);
      });
    }
    return run.accept(job, token, value, id);
  }

  async #readState(runId: string): Promise<RunState | null> {
    const [state] = await this.config.ledger.states([runId]);
    this.#states.set(runId, state ?? null);
    return state ?? null;
  }

  // Runs that ended (or were stopped) elsewhere end here too.
  async #pollStates(): Promise<void> {
    const ids = [...this.#states.keys()];
    let states: (RunState | null)[];
    try {
      states = await this.config.ledger.states(ids);
    } catch {
      return;
    }
    ids.forEach((id, k) => {
      const state = states[k] ?? null;
      this.#states.set(id, state);
      const run = this.#runs.get(id);
      if (runsIn(state, this.config.index)) return;
      if (run === undefined) {
        if (state === null) this.#states.delete(id);
        return;
      }
      if (state === "stopped") void run.stopRun();
      else if (state?.startsWith("last:")) void run.stopRun("UPSTREAM_TERMINATED");
      else run.end();
    });
  }

  // A stage of this segment returned Last(...) in run `runId`: the stages up to here, in every
  // process, take no more of its items.
  async #lastReturned(runId: string): Promise<void> {
    const state: RunState = `last:${this.config.index}`;
    this.#states.set(runId, state);
    await this.config.ledger.cut(runId, this.config.index);
  }

  /** This process's feeder stopped run `runId`: its items here are dropped, recorded. */
  runStopped(runId: string): void {
    this.#states.set(runId, "stopped");
    void this.#runs.get(runId)?.stopRun();
  }

  /** Takes no more jobs; lets what is held here reach its outcome, then ends. */
  async drain(): Promise<void> {
    // BullMQ's close waits for the jobs held here, whose items the segments still run; only then
    // can no item come any more, and the segments' inputs end.
    await bounded(this.#worker.waitUntilReady()); // closing one still connecting races in BullMQ
    await this.#worker.close();
    for (const run of this.#runs.values()) run.end();
    await Promise.all([...this.#runs.values()].map((r) => r.finished));
    clearInterval(this.#poll);
  }

  /** Takes no more jobs; stops what is held here and hands it back to the queue for another process. */
  async stop(): Promise<void> {
    if (this.#leaving) return;
    this.#leaving = true;
    // Handed back while the worker's connection is open; then closed by force: a job whose item
    // could not be handed back (Redis gone) is left to its lock running out, not waited for.
    await bounded(Promise.all([...this.#runs.values()].map((r) => r.leave())), EXIT_WAIT_MS + 5_000);
    await bounded(this.#worker.waitUntilReady());
    await bounded(this.#worker.close(true));
    clearInterval(this.#poll);
  }
}
