import { FlowConfigError } from "../internal/flow-config-error.js";

/** What a push handle drives: the run it feeds. */
export interface PushHost {
  /** Counts `item` in and sends it to the flow's entry; resolves once it is queued (or dropped). */
  push(item: unknown): Promise<void>;
  /** The handle will send no more: the flow's input closes. */
  endInput(): void;
  /** Settles once every item reached a terminal state. */
  readonly finished: Promise<void>;
}

/**
 * Feeds a flow by hand, made by `flow.push()`. `send` waits while the flow's first queue is full
 * (backpressure reaches the caller); `complete` ends the input and resolves once every item sent
 * has reached a terminal state. With `await using`, leaving the block completes the handle and
 * waits for the flow.
 *
 * @example
 * ```ts
 * await using input = flow.push();
 * for await (const msg of socket) await input.send(msg);
 * ```
 */
export class PushHandle<T> implements AsyncDisposable {
  #completed = false;

  constructor(private readonly host: PushHost) {}

  /** Whether `complete()` was called. */
  get completed(): boolean {
    return this.#completed;
  }

  /**
   * Sends one item into the flow. Resolves once the item is queued — or, if the flow stopped
   * while it waited for room, once it was reported as `Dropped`. Rejects with a
   * `FlowConfigError` (code `ERR_FLOW_STATE`) after `complete()`, and once the flow takes no more
   * input (drained, stopped, ended by `Last`); such an item is not counted.
   */
  send(item: T): Promise<void> {
    if (this.#completed)
      return Promise.reject(
        new FlowConfigError("PushHandle.send(): called after complete(); the flow takes no more items", {
          code: "ERR_FLOW_STATE",
        }),
      );
    return this.host.push(item);
  }

  /** Ends the input (idempotent); resolves once every item sent reached a terminal state. */
  complete(): Promise<void> {
    if (!this.#completed) {
      this.#completed = true;
      this.host.endInput();
    }
    return this.host.finished;
  }

  /** `await using`: completes the handle and waits for the flow to finish. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.complete();
  }
}
