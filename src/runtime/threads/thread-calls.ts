import type { ThreadSpec } from "../../model/threaded.js";
import { type CallSite, type Lane, openLane } from "../stage/call-site.js";
import type { PoolEvents, ResourceWorker } from "../stage/worker-resource.js";
import { type LaneStage, ThreadLane } from "./thread-lane.js";

/** Where a threaded stage's readings go (its metrics). */
export interface ThreadReadings {
  threads: number;
  threadUtilization: number | null;
}

/**
 * Calls in worker threads (`threaded`): each worker opens a lane with a thread of its own, whose
 * module's `setup` runs when it starts and `close` when the worker leaves; the stage's pool sizes
 * the lanes like any workers. Setup failures back off and, once they persist, break the lanes
 * exactly as a `perWorker` factory's do.
 */
export class ThreadCalls implements CallSite {
  readonly values = "cloned" as const;
  readonly #lanes = new Set<ThreadLane>();

  constructor(
    private readonly spec: ThreadSpec,
    private readonly pool: PoolEvents,
    private readonly stage: LaneStage & {
      readonly run: { readonly closeTimeoutMs: number; readonly runId: string };
    },
    private readonly readings: ThreadReadings,
  ) {}

  open(worker: ResourceWorker): Lane | Promise<Lane | string> {
    return openLane(worker, this.pool, (info) => {
      const run = this.stage.run;
      const lane = new ThreadLane(
        this.spec,
        this.stage,
        { runId: run.runId, stage: this.stage.name },
        info.id,
        run.closeTimeoutMs,
      );
      this.#lanes.add(lane);
      const close = lane.close;
      return lane.open().then(
        () => ({
          process: lane.process,
          close: () => close().finally(() => this.#forget(lane)),
        }),
        (error) => {
          this.#forget(lane);
          throw error;
        },
      );
    });
  }

  /** A lane is gone: with none left, the readings say so at once (not at the next tick, which may never come). */
  #forget(lane: ThreadLane): void {
    this.#lanes.delete(lane);
    if (this.#lanes.size > 0) return;
    this.readings.threads = 0;
    this.readings.threadUtilization = null;
  }

  /** Ends every thread of the stage at once: `stop()` gave up on its workers (a setup or close that hangs). */
  abandon(): void {
    for (const lane of this.#lanes) lane.terminate();
    this.#lanes.clear();
    this.readings.threads = 0;
    this.readings.threadUtilization = null;
  }

  /** Reads the threads' count and mean event-loop utilization since the last tick. */
  tick(): void {
    let n = 0;
    let sum = 0;
    for (const lane of this.#lanes) {
      const u = lane.utilization();
      if (u === null) continue;
      n++;
      sum += u;
    }
    this.readings.threads = n;
    this.readings.threadUtilization = n === 0 ? null : sum / n;
  }
}
