import { type Channel, END, type End } from "./queue/channel.js";
import { WaitingTaker } from "./queue/waiting-taker.js";

/** What the reader needs from the run it reads. */
export interface ReaderHost {
  /** Item `id` was handed to the reader's loop: consumed. */
  consume(id: number): void;
  stop(): Promise<void>;
  sinkDrained(): void;
  /** Settles when the run is over (every item has its outcome, every close has run). */
  readonly finished: Promise<void>;
}

/**
 * The async iterator behind `flow.stream()`: takes the last stage's outputs from the sink
 * channel. An item counts as consumed when it is handed to the loop. Leaving the loop early
 * (`break`, `return`, a throw) stops the flow; the loop ends by itself once the run is over.
 */
export class StreamReader<T> extends WaitingTaker<T> implements AsyncIterator<T> {
  #done = false;
  /** The id of the item taken last. */
  #id = 0;

  constructor(
    private readonly sink: Channel<T>,
    private readonly host: ReaderHost,
  ) {
    super();
  }

  async next(): Promise<IteratorResult<T>> {
    if (this.#done) return { done: true, value: undefined };
    const sink = this.sink;
    let item: T | End;
    if (sink.queue.length > 0) {
      item = sink.take();
      this.#id = sink.queue.takenId;
    } else if (!sink.wait(this)) item = END;
    else item = await this.waitForItem();
    if (item === END) {
      this.#done = true;
      this.host.sinkDrained();
      // The loop ends once the run is over, as `wait()` would: after a stop() from elsewhere,
      // items still in flight have their outcomes and every close has run.
      await this.host.finished;
      return { done: true, value: undefined };
    }
    this.host.consume(this.#id);
    return { done: false, value: item };
  }

  protected override received(_stamp: number, id: number): void {
    this.#id = id;
  }

  async return(): Promise<IteratorResult<T>> {
    if (!this.#done) {
      this.#done = true;
      await this.host.stop();
    }
    return { done: true, value: undefined };
  }
}
