import type { StageQueue } from "../queue/stage-queue.js";
import type { ScalingController } from "../scaling/scaling-controller.js";
import type { StageRun } from "../stage-run.js";
import { type PooledWorker, WorkerState } from "./worker-host.js";
import type { PoolEvents } from "./worker-resource.js";

/**
 * A `perWorker` factory that fails is tried again after 100 ms, 200 ms, … (at most 5 s); after
 * this many failures in a row with no worker of the stage running, the stage gives up: its items
 * fail with the setup error instead of waiting for a worker that never comes.
 */
export const SETUP_ATTEMPTS = 5;
const SETUP_BACKOFF_MS = 100;
const SETUP_BACKOFF_MAX_MS = 5000;

/** Which workers scale-down retires first when none is waiting for input. */
const RETIRE_ORDER = [
  WorkerState.Starting,
  WorkerState.Blocked,
  WorkerState.Busy,
  WorkerState.Retrying,
  WorkerState.RateLimited,
  WorkerState.Idle,
] as const;

/** What the pool needs of its stage. */
export interface PoolOwner {
  readonly name: string;
  readonly run: StageRun;
  readonly input: StageQueue<unknown>;
  readonly controller: ScalingController;
  /** Whether items wait for a worker. */
  readonly hasWork: boolean;
  readonly done: boolean;
  readonly metrics: { starting: number };
  /** What sets a worker up, for messages: `perWorker factory`, or a threaded stage's `thread setup`. */
  readonly setupKind: string;
  /** A new worker for the stage. */
  createWorker(id: number): PooledWorker;
}

/**
 * A stage's workers: spawns and retires them toward the size its controller asks for, and backs
 * off when the `perWorker` factory fails (one worker at a time probes it, like a half-open
 * circuit breaker).
 *
 * Invariant: `active` counts workers that are neither retiring nor exited; the pool is resized
 * against it, so a retiring worker finishing its item never counts twice.
 */
export class WorkerPool implements PoolEvents {
  readonly workers = new Set<PooledWorker>();
  /** Set once the `perWorker` factory failed {@link SETUP_ATTEMPTS} times in a row with no worker running. */
  setupError: Error | null = null;
  #active = 0;
  #nextId = 1;
  /** The size last asked for. */
  #target = 0;
  /** Workers whose resource is set up and that have not exited. */
  #ready = 0;
  /** `perWorker` factory failures since the last success. */
  #setupFailures = 0;
  /** No worker is spawned before this time (a failed factory backs off). */
  #respawnAt = 0;
  /** Set once the initial pool has started. */
  #started = false;
  /** Brings the pool back to its target once a failed factory's backoff has passed. */
  #respawnTimer: unknown = null;

  constructor(private readonly owner: PoolOwner) {}

  get active(): number {
    return this.#active;
  }

  get target(): number {
    return this.#target;
  }

  /** The initial workers have started: later ones start on a microtask of their own. */
  started(): void {
    this.#started = true;
  }

  /**
   * Spawns or retires workers until `target` are active (retiring idle workers first); returns
   * how many are active. Spawning waits while a failed `perWorker` factory backs off.
   */
  resize(target: number): number {
    const { run, input, controller } = this.owner;
    if (run.stopping) return this.#active;
    this.#target = target;
    while (this.#active < target) {
      if (input.closed && !this.owner.hasWork) break;
      // A retiring worker still holds its item: no more workers than the maximum hold items at
      // once, so a replacement waits until it has left (see exited).
      if (this.workers.size >= controller.max) break;
      // While the factory keeps failing, one worker at a time probes it.
      if (this.#setupFailures > 0 && this.owner.metrics.starting > 0) break;
      if (run.cache.t < this.#respawnAt) {
        this.#armRespawn();
        break;
      }
      this.#spawn();
    }
    while (this.#active > target && this.#retireOne());
    return this.#active;
  }

  #spawn(): void {
    const worker = this.owner.createWorker(this.#nextId++);
    this.workers.add(worker);
    this.#active++;
    this.owner.metrics.starting++;
    // Once the stage runs, a new worker's loop starts on a later microtask: a worker spawned by a
    // scaling decision made inside a hand-off must not take an item inside that hand-off, which
    // would re-enter the controller and take items out of the order they leave the channel in.
    // The initial pool starts at once: no hand-off is under way yet.
    if (this.#started) queueMicrotask(() => worker.start());
    else worker.start();
  }

  #retireOne(): boolean {
    // Only workers wait on a stage's input. The wait resolves in a later microtask, so marking
    // the worker retiring right after the release still comes before it runs again.
    const idle = this.owner.input.withdrawFirst() as unknown as PooledWorker | undefined;
    if (idle) {
      idle.retiring = true;
      this.#active--;
      return true;
    }
    // No idle worker: the one that will free up soonest is a starting one, then a blocked one
    // (its item is done), then a busy one, then one waiting out a retry or for a rate-limit token;
    // each leaves after its current item.
    for (const state of RETIRE_ORDER) {
      for (const w of this.workers) {
        if (!w.retiring && w.state === state) {
          w.retiring = true;
          this.#active--;
          return true;
        }
      }
    }
    return false;
  }

  /** `worker` has left the pool (the stage counted its state); `why` says why, when no decision retired it. */
  exited(worker: PooledWorker, why: string): void {
    const { run, controller } = this.owner;
    this.workers.delete(worker);
    if (!worker.retiring) {
      this.#active--;
      controller.exited(run.stopping ? "flow stopped" : why);
    } else if (this.#active < this.#target && !run.stopping) {
      controller.regrow(this.#target, "held growth: a retiring worker has left");
    }
  }

  /** A worker's `perWorker` factory threw: back off before the next spawn, or give up. */
  setupFailed(error: unknown): void {
    const { run, name } = this.owner;
    const n = ++this.#setupFailures;
    const kind = this.owner.setupKind;
    run.workerFault(name, `${kind} failed`, error);
    if (n >= SETUP_ATTEMPTS && this.#ready === 0) {
      this.setupError = new Error(
        `stage "${name}": the ${kind} failed ${n} times in a row and no worker could start`,
        { cause: error },
      );
      this.#respawnAt = 0;
      this.#armRespawn();
      return;
    }
    const wait = Math.min(SETUP_BACKOFF_MS * 2 ** (n - 1), SETUP_BACKOFF_MAX_MS);
    this.#respawnAt = run.cache.read() + wait;
    this.#armRespawn();
  }

  // The pool returns to its target by itself once the backoff has passed: no strategy needs to ask
  // again, and the timer (unlike the tick) keeps the process alive while the flow needs it.
  #armRespawn(): void {
    const run = this.owner.run;
    if (this.#respawnTimer !== null || run.stopping || this.owner.done) return;
    const ms = Math.max(0, this.#respawnAt - run.cache.read());
    this.#respawnTimer = run.clock.setTimeout(() => {
      this.#respawnTimer = null;
      if (run.stopping || this.owner.done || this.#active >= this.#target) return;
      if (run.cache.read() < this.#respawnAt) this.#armRespawn();
      else this.owner.controller.regrow(this.#target, "respawn: after the perWorker factory failed");
    }, ms);
  }

  /** Cancels a pending respawn (the stage is done or shut). */
  disarm(): void {
    if (this.#respawnTimer === null) return;
    this.owner.run.clock.clearTimeout(this.#respawnTimer);
    this.#respawnTimer = null;
  }

  setupSucceeded(): void {
    const recovered = this.#setupFailures > 0;
    this.#setupFailures = 0;
    this.#ready++;
    // The probe worked: the pool may grow back to its target.
    if (recovered && this.#active < this.#target && !this.owner.run.stopping)
      this.owner.controller.regrow(this.#target, "respawn: the perWorker factory works again");
  }

  readyExited(): void {
    this.#ready--;
  }

  /** `stop()` waited `closeTimeoutMs` for the workers: those still there are given up. */
  abandonAll(): void {
    for (const worker of [...this.workers]) worker.abandon();
  }
}
