import type { Queue } from "bullmq";
import type { StageContext } from "../model/types.js";
import type { Codec } from "./options.js";

/** What a job carries: the run, the item's id in it, and the item as the codec wrote it. */
export interface JobData {
  readonly r: string;
  readonly i: number;
  readonly v: string;
}

/** A job's id: the run and the item (the stage is the queue's), so a second add of it is a no-op. */
export const jobIdOf = (runId: string, id: number): string => `${runId}.${id}`;

/**
 * The bound of a remote stage's queue, as this process sees it: it counts its own adds on top of
 * the backlog it last read, and reads the backlog again only when that reaches the capacity. So
 * one writing process never overshoots; P writing processes overshoot by at most (P − 1) ×
 * capacity, each having read the same backlog.
 */
export class QueueRoom {
  #estimate = 0;
  #reading: Promise<void> | null = null;

  constructor(
    private readonly queue: Queue,
    readonly capacity: number,
  ) {}

  async take(): Promise<void> {
    while (this.#estimate >= this.capacity) {
      this.#reading ??= this.#read().finally(() => {
        this.#reading = null;
      });
      await this.#reading;
    }
    this.#estimate++;
  }

  async #read(): Promise<void> {
    const backlog = await this.queue.count();
    if (backlog >= this.capacity) await new Promise((r) => setTimeout(r, 20));
    this.#estimate = backlog;
  }
}

/** The consumer of a segment followed by a remote stage: each item goes into that stage's queue. */
export function remoteSink(queue: Queue, room: QueueRoom, codec: Codec) {
  return async (item: unknown, ctx: StageContext): Promise<void> => {
    const data: JobData = { r: ctx.runId, i: ctx.id, v: codec.encode(item) };
    await room.take();
    await queue.add("item", data, {
      jobId: jobIdOf(ctx.runId, ctx.id),
      removeOnComplete: true,
      removeOnFail: true,
    });
  };
}
