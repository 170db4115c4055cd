import type { Acked } from "../model/item/acked.js";
import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import { readOptionsObject } from "../internal/read-value.js";
import type { DropReason } from "../model/events.js";

/**
 * Why a send left the item with its sender, uncounted: `FULL` (`trySend` found no room),
 * `ABORTED` (the send's signal had already aborted), `CLOSED` (the flow drains or has ended),
 * `STOPPED` (`stop()` was called), `UPSTREAM_TERMINATED` (a stage's `Last(...)` ended the input).
 */
export type RefusalReason = "FULL" | "ABORTED" | "CLOSED" | "STOPPED" | "UPSTREAM_TERMINATED";

/**
 * What became of a pushed item. `queued`: it entered the flow, and its outcome is reported like
 * any other item's. `dropped`: it entered, then was dropped while it waited for room — the flow
 * stopped or was cut off by `Last`, or the send's signal withdrew it (`WITHDRAWN`); it was
 * reported as `Dropped`. `refused`: it never entered (not counted, no event).
 */
export type SendResult =
  | {
      /** It entered the flow. */
      readonly status: "queued";
    }
  | {
      /** It entered, then was dropped while it waited for room. */
      readonly status: "dropped";
      /** Why it was dropped. */
      readonly reason: DropReason;
    }
  | {
      /** It never entered. */
      readonly status: "refused";
      /** Why it was refused. */
      readonly reason: RefusalReason;
    };

/** `send()` options. */
export interface SendOptions {
  /**
   * Withdraws the item if it aborts while the send waits for room (the send then resolves
   * `{ status: "dropped", reason: "WITHDRAWN" }`); an item already queued stays queued.
   */
  signal?: AbortSignal;
}

/**
 * Reads `send()`'s options (per call, so by hand and cheaply: no schema): an options object with
 * at most `signal`, an `AbortSignal`.
 */
function sendSignal(options: unknown): AbortSignal | undefined {
  const where = "PushHandle.send(item, options)";
  const read = readOptionsObject(options);
  if (!read.ok)
    throw new FlowConfigError(
      `${where}: options = ${describeValue(options)}: expected an options object { signal? }`,
      {
        option: "options",
      },
    );
  for (const key of Object.keys(read.value))
    if (key !== "signal")
      throw new FlowConfigError(`${where}: unknown option "${key}" = ${describeValue(read.value[key])}`, {
        option: key,
      });
  const signal = read.value.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new FlowConfigError(
      `${where}: option "signal" = ${describeValue(signal)}: expected an AbortSignal`,
      {
        option: "signal",
      },
    );
  return signal;
}

/** What a push handle drives: the run it feeds. */
export interface PushHost {
  push(item: unknown, signal: AbortSignal | undefined): SendResult | Promise<SendResult>;
  tryPush(item: unknown): SendResult;
  /** The handle will send no more: the flow's input closes. */
  endInput(): void;
  /** Settles once every item reached a terminal state. */
  readonly finished: Promise<void>;
}

/**
 * Feeds a flow by hand, made by `flow.push()`. `send` waits while the flow's first queue is full
 * (backpressure reaches the caller) and resolves with what became of the item; `trySend` never
 * waits; `complete` ends the input and resolves once every item sent has reached a terminal
 * state. With `await using`, leaving the block completes the handle and waits for the flow.
 *
 * @example
 * ```ts
 * await using input = flow.push();
 * for await (const msg of socket) {
 *   const r = await input.send(msg, { signal: AbortSignal.timeout(100) });
 *   if (r.status !== "queued") msg.nack();
 * }
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
   * Sends one item into the flow, waiting while its first queue is full; resolves with what
   * became of the item (see {@link SendResult}). Rejects with a `FlowConfigError` (code
   * `ERR_FLOW_STATE`) after `complete()`, and when more than `maxWaitingSends` sends would wait.
   */
  send(item: T | Acked<T>, options?: SendOptions): Promise<SendResult> {
    try {
      this.#assertOpen("send");
      const signal = options === undefined ? undefined : sendSignal(options);
      return Promise.resolve(this.host.push(item, signal));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sends one item only if the flow's first queue has room now; never waits. Returns
   * `{ status: "queued" }`, or `{ status: "refused", reason }` (`FULL` when there was no room).
   * Throws a `FlowConfigError` (code `ERR_FLOW_STATE`) after `complete()`.
   */
  trySend(item: T | Acked<T>, ...rest: never[]): SendResult {
    this.#assertOpen("trySend");
    if (rest.length > 0)
      throw new FlowConfigError("PushHandle.trySend(item): takes one item and no options (it never waits)", {
        option: "options",
      });
    return this.host.tryPush(item);
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

  #assertOpen(call: string): void {
    if (this.#completed)
      throw new FlowConfigError(
        `PushHandle.${call}(): called after complete(); the flow takes no more items`,
        {
          code: "ERR_FLOW_STATE",
        },
      );
  }
}
