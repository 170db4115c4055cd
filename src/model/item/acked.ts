import { FlowConfigError } from "../../errors.js";
import { describeValue } from "../../internal/describe.js";
import type { DropReason } from "../events.js";

/**
 * Why an acknowledged item is nacked: the item (or the `flatMap` child of it) that failed or was
 * dropped first, where, and how — so a source can choose between redelivering now, later, or
 * never (a message that will always fail, or one a dead-letter sink already took).
 */
export type NackReason =
  | {
      /** It failed (a `TransformerError`). */
      readonly outcome: "failed";
      /** The id of the item that failed: the acknowledged item's own, or a descendant's. */
      readonly id: number;
      /** The stage it failed in. */
      readonly stage: string;
      /** What its last attempt threw. */
      readonly error: unknown;
    }
  | {
      /** It was dropped (a `Dropped` event). */
      readonly outcome: "dropped";
      /** The id of the item that was dropped: the acknowledged item's own, or a descendant's. */
      readonly id: number;
      /** The stage that held it. */
      readonly stage: string;
      /** Why it was dropped. */
      readonly reason: DropReason;
    };

/** How a source learns an item's final outcome (see {@link acked}). */
export interface AckCallbacks {
  /** The item was consumed, skipped, or expanded by a `flatMap` and every child of it acknowledged. */
  ack(): unknown;
  /** The item failed or was dropped (or a `flatMap` child of it did); `why` says which and how. */
  nack(why: NackReason): unknown;
}

/** A source item with its acknowledgement callbacks; the flow runs `value` and tells the source. */
export class Acked<T> implements AckCallbacks {
  readonly #callbacks: AckCallbacks;

  constructor(
    /** The item the flow runs. */
    readonly value: T,
    callbacks: AckCallbacks,
  ) {
    this.#callbacks = callbacks;
  }

  /** Tells the source the item is done with. */
  ack(): unknown {
    return this.#callbacks.ack();
  }

  /** Tells the source the item failed or was dropped, and why. */
  nack(why: NackReason): unknown {
    return this.#callbacks.nack(why);
  }
}

/** The item type a source yields, with {@link Acked} wrappers taken off. */
export type Unacked<T> = T extends Acked<infer V> ? V : T;

/**
 * Wraps a source item so that the source learns its final outcome: `ack()` once it was consumed,
 * skipped, or expanded by a `flatMap` with every child acknowledged; `nack(why)` once it failed or
 * was dropped (a stop, a `Last`, a router miss) — or a child of it did (`why` names the first).
 * One of them is called once, after the outcome is reported; one that throws or rejects is logged
 * and changes nothing. An item whose process dies before its outcome is told nothing: a broker
 * redelivers it. A source that waits for messages should stop waiting when its `signal` aborts, so
 * that `drain()` need not wait for one more message.
 *
 * @example
 * ```ts
 * async function* orders({ signal }: SourceContext) {
 *   const messages = await consumer.consume();
 *   signal.addEventListener("abort", () => messages.stop());
 *   for await (const m of messages)
 *     yield acked(m.json<Order>(), { ack: () => m.ack(), nack: (why) => (why.outcome === "failed" ? m.term() : m.nak()) });
 * }
 * ```
 */
export function acked<T>(value: T, callbacks: AckCallbacks): Acked<T> {
  const c = callbacks as Partial<AckCallbacks> | null | undefined;
  if (c === null || typeof c !== "object")
    throw new FlowConfigError(
      `acked: callbacks = ${describeValue(callbacks)}: expected { ack: () => …, nack: () => … }, two functions`,
      { option: "callbacks" },
    );
  for (const key of ["ack", "nack"] as const)
    if (typeof c[key] !== "function")
      throw new FlowConfigError(
        `acked: callbacks.${key} = ${describeValue(c[key])}: expected a function (expected { ack: () => …, nack: () => … })`,
        { option: `callbacks.${key}` },
      );
  return new Acked(value, callbacks);
}
