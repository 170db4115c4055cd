import type { Queue } from "bullmq";
import type { StageContext } from "../model/types.js";
import { describeValue } from "../internal/describe.js";
import { ItemCodecError } from "./json-codec.js";
import type { Codec } from "./options.js";

/** What a job carries: the run, the item's id in it, and the item as the codec wrote it. */
export interface JobData {
  readonly r: string;
  readonly i: number;
  readonly v: string;
}

/** A job's id: the run and the item (the stage is the queue's), so a second add of it is a no-op. */
const jobIdOf = (runId: string, id: number): string => `${runId}.${id}`;

/**
 * The bound of a remote stage's queue, as this process sees it: it counts its own adds on top of
 * the backlog it last read, and reads the backlog again only when that reaches the capacity. So
 * one writing process never overshoots; P writing processes overshoot by at most (P − 1) ×
 * capacity, each having read the same backlog.
 */
export class QueueRoom {
  #estimate = 0;
  /** Adds this process has started and not seen finish: not yet in a backlog it reads. */
  #adding = 0;
  #reading: Promise<void> | null = null;

  constructor(
    private readonly queue: Queue,
    readonly capacity: number,
  ) {}

  /** Waits for room for one more job (until `signal` aborts), and counts it; call `added()` once its add settled. */
  async take(signal: AbortSignal): Promise<void> {
    while (this.#estimate >= this.capacity) {
      signal.throwIfAborted();
      this.#reading ??= this.#read().finally(() => {
        this.#reading = null;
      });
      await this.#reading;
    }
    this.#estimate++;
    this.#adding++;
  }

  added(): void {
    this.#adding--;
  }

  async #read(): Promise<void> {
    const adding = this.#adding;
    const backlog = await this.queue.count();
    if (backlog >= this.capacity) await new Promise((r) => setTimeout(r, 20));
    // An add that finished while the count ran is counted twice: room is underestimated, never over.
    this.#estimate = backlog + Math.max(adding, this.#adding);
  }
}

/** The consumer of a segment followed by a remote stage: each item goes into that stage's queue. */
export function remoteSink(queue: Queue, room: QueueRoom, codec: Codec) {
  return async (item: unknown, ctx: StageContext): Promise<void> => {
    const v = codec.encode(item);
    if (typeof v !== "string")
      throw new ItemCodecError(`the codec's encode() returned ${describeValue(v)}: expected a string`);
    const data: JobData = { r: ctx.runId, i: ctx.id, v };
    await room.take(ctx.signal);
    try {
      await queue.add("item", data, {
        jobId: jobIdOf(ctx.runId, ctx.id),
        removeOnComplete: true,
        removeOnFail: true,
      });
    } finally {
      room.added();
    }
  };
}
