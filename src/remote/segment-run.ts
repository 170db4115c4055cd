import { type Job, WaitingError } from "bullmq";
import type { Flow } from "../flow/flow.js";
import { Deferred } from "../internal/deferred.js";
import { acked, type NackReason } from "../model/item/acked.js";
import { bounded, type Ledger, type OutcomeKind } from "./ledger.js";
import { SegmentInput } from "./segment-input.js";

/** An item this process holds: its job (the latest delivery of it), until the item's outcome here. */
interface Held {
  job: Job;
  token: string;
  readonly done: Deferred<void>;
}

/** What a segment run needs from its stage server. */
export interface SegmentHost {
  readonly ledger: Ledger;
  /** Whether this segment is the flow's last (an item handed on from it is consumed). */
  readonly last: boolean;
  /** Makes the segment's flow for a run, its items' ids read from `idOf`. */
  makeFlow(runId: string, idOf: () => number): Flow<unknown, unknown>;
  /** Something failed that no item's outcome carries (a record that could not be written). */
  fault(what: string, error: unknown): void;
  /** A stage of the segment returned `Last(...)` in run `runId`. */
  lastReturned(runId: string): Promise<void>;
}

/**
 * One run's items in one remote segment of this process: a flow of the segment's stages, fed with
 * the jobs the stage server takes. Each job stays held (its lock extended by BullMQ's worker)
 * until its item's outcome here — handed on to the next remote stage's queue, or its final outcome,
 * written to the run's ledger first — and only then completes.
 */
export class SegmentRun {
  readonly #held = new Map<number, Held>();
  readonly #skipped = new Set<number>();
  readonly input = new SegmentInput();
  readonly flow: Flow<unknown, unknown>;
  readonly finished: Promise<void>;
  /** Set when this process stops serving: what it still holds goes back to the queue, not to the ledger. */
  #leaving = false;
  #runStopped = false;
  /** Why an item this run of the segment never took is dropped. */
  #dropReason: "STOPPED" | "UPSTREAM_TERMINATED" = "STOPPED";

  constructor(
    readonly runId: string,
    private readonly host: SegmentHost,
  ) {
    const input = this.input;
    this.flow = host.makeFlow(runId, () => input.lastId);
    this.flow.on("skip", (e) => this.#skipped.add(e.id));
    this.finished = this.flow.run(input).then(() => this.#ended());
  }

  get held(): number {
    return this.#held.size;
  }

  /** Whether its input has ended: items that come now go to a new run of the segment. */
  get closed(): boolean {
    return this.input.ended;
  }

  /** Takes item `id` of job `job` in; resolves once the job may complete. */
  accept(job: Job, token: string, value: unknown, id: number): Promise<void> {
    const held = this.#held.get(id);
    if (held !== undefined) {
      // Delivered again while held here (its lock lapsed): the latest delivery is the one to complete.
      held.job = job;
      held.token = token;
      return held.done.promise;
    }
    const done = new Deferred<void>();
    this.#held.set(id, { job, token, done });
    if (this.input.ended) {
      // Too late for this run of the segment (it is leaving, or its run was stopped meanwhile).
      void this.#left(id);
      return done.promise;
    }
    this.input.push(
      acked(value, { ack: () => this.#settled(id, null), nack: (why) => this.#settled(id, why) }),
      id,
    );
    return done.promise;
  }

  /** No more items of this run will come here. */
  end(): void {
    this.input.end();
  }

  /** The run was stopped (or cut by a `Last` upstream): what is held here is dropped, recorded. */
  stopRun(reason: "STOPPED" | "UPSTREAM_TERMINATED" = "STOPPED"): Promise<void> {
    this.#runStopped = true;
    this.#dropReason = reason;
    return this.flow.stop();
  }

  /** This process stops serving: items still held go back to the queue for another process. */
  async leave(): Promise<void> {
    this.#leaving = !this.#runStopped;
    this.input.end();
    await this.flow.stop();
    await this.finished;
  }

  async #settled(id: number, why: NackReason | null): Promise<void> {
    const held = this.#held.get(id);
    if (held === undefined) return;
    if (this.#leaving && why?.outcome === "dropped" && why.reason === "STOPPED")
      return this.#giveBack(id, held);
    const kind: OutcomeKind | null =
      why === null
        ? this.#skipped.delete(id)
          ? "skipped"
          : this.host.last
            ? "consumed"
            : null
        : why.outcome;
    if (kind !== null) {
      const field = why?.outcome === "dropped" ? `dropped:${why.reason}` : kind;
      if (!(await this.#record(id, kind, field))) return this.#abandon(id, held);
    }
    this.#held.delete(id);
    held.done.resolve();
  }

  // The ledger must have the outcome before the job completes, so a write that fails is retried
  // (the first failures told once) until it works or this process leaves: then the job is not
  // completed, and its lock runs out, so another process takes the item again (false).
  async #record(id: number, kind: OutcomeKind, field: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.host.ledger.record(this.runId, id, kind, field);
        return true;
      } catch (error) {
        if (attempt === 5)
          this.host.fault(
            `writing item ${id}'s outcome (${field}) to run ${this.runId}'s ledger (retrying)`,
            error,
          );
        if (this.#leaving) return false;
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * attempt)));
      }
    }
  }

  // Left to its lock running out (Redis cannot take the outcome): the job is neither completed
  // nor failed (its processor never settles; the worker is closed by force), and another process
  // takes the item again.
  #abandon(id: number, _held: Held): void {
    this.#held.delete(id);
  }

  // Back to the queue at once, rather than after its lock runs out.
  async #giveBack(id: number, held: Held): Promise<void> {
    this.#held.delete(id);
    // If that fails (its lock is gone, Redis does not answer), BullMQ's stalled check hands the
    // job out again once its lock runs out.
    if (!(await bounded(held.job.moveToWait(held.token)))) return this.#abandon(id, held);
    held.done.reject(new WaitingError());
  }

  // The segment's flow ended: after a Last, the run is cut everywhere up to here; items it never
  // took go back to the queue when this process leaves, else are dropped as the run's items are.
  async #ended(): Promise<void> {
    if (this.flow.stats().endedBy === "last") {
      this.#dropReason = "UPSTREAM_TERMINATED";
      await this.host
        .lastReturned(this.runId)
        .catch((e) => this.host.fault("marking the run cut by Last", e));
    }
    for (const { id } of this.input.takeLeft()) await this.#left(id);
  }

  async #left(id: number): Promise<void> {
    const held = this.#held.get(id);
    if (held === undefined) return;
    if (this.#leaving) return this.#giveBack(id, held);
    if (!(await this.#record(id, "dropped", `dropped:${this.#dropReason}`))) return this.#abandon(id, held);
    this.#held.delete(id);
    held.done.resolve();
  }
}
