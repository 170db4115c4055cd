import { FlowConfigError } from "../../errors.js";
import { describeValue } from "../../internal/describe.js";

/** How a source learns an item's final outcome (see {@link acked}). */
export interface AckCallbacks {
  /** The item was consumed, skipped, or expanded by a `flatMap` and every child of it acknowledged. */
  ack(): unknown;
  /** The item failed or was dropped (or a `flatMap` child of it did). */
  nack(): unknown;
}

/** A source item with its acknowledgement callbacks; the flow runs `value` and tells the source. */
export class Acked<T> implements AckCallbacks {
  readonly #callbacks: AckCallbacks;

  constructor(
    readonly value: T,
    callbacks: AckCallbacks,
  ) {
    this.#callbacks = callbacks;
  }

  ack(): unknown {
    return this.#callbacks.ack();
  }

  nack(): unknown {
    return this.#callbacks.nack();
  }
}

/** The item type a source yields, with {@link Acked} wrappers taken off. */
export type Unacked<T> = T extends Acked<infer V> ? V : T;

/**
 * Wraps a source item so that the source learns its final outcome: `ack()` once it was consumed,
 * skipped, or expanded by a `flatMap` with every child acknowledged; `nack()` once it failed or
 * was dropped (a stop, a `Last`, a router miss) — or a child of it did. Each is called once, after
 * the outcome is reported; one that throws or rejects is logged and changes nothing. An item
 * whose process dies before its outcome is told nothing: a broker redelivers it.
 *
 * @example
 * ```ts
 * async function* orders() {
 *   for await (const m of messages) yield acked(JSON.parse(m.string()), { ack: () => m.ack(), nack: () => m.nak() });
 * }
 * ```
 */
export function acked<T>(value: T, callbacks: AckCallbacks): Acked<T> {
  const c = callbacks as Partial<AckCallbacks> | null | undefined;
  if (typeof c?.ack !== "function" || typeof c.nack !== "function")
    throw new FlowConfigError(
      `acked: callbacks = ${describeValue(callbacks)}: expected { ack: () => …, nack: () => … }, two functions`,
      { option: "callbacks" },
    );
  return new Acked(value, callbacks);
}
