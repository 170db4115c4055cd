import { isMainThread } from "node:worker_threads";

/** The brand of a `TransferValue` (a registered symbol: the same in every copy of the module). */
export const TRANSFER_BRAND: unique symbol = Symbol.for("flowrhythm.transfer");

/** What `transfer(value, list)` returns: a result whose buffers move back from the thread. */
export class TransferValue<T> {
  /** @internal Tells a `TransferValue` from a look-alike. */
  readonly [TRANSFER_BRAND] = true;
  constructor(
    readonly value: T,
    readonly list: readonly unknown[],
  ) {}
}

/**
 * Returned from a `threaded` module's function: `value` comes back with the buffers in `list`
 * moved, not copied (the thread must not use them afterwards). In the main thread there is
 * nothing to move: it returns `value` itself.
 *
 * @example
 * ```ts
 * export default (img: Uint8Array) => { const out = resize(img); return transfer(out, [out.buffer]); };
 * ```
 */
export function transfer<T>(value: T, list: readonly unknown[]): T {
  if (isMainThread) return value;
  return new TransferValue(value, list) as unknown as T;
}
