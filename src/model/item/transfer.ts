/** What `transfer(value, list)` returns: a result whose buffers move back from the thread. */
export class TransferValue<T> {
  constructor(
    readonly value: T,
    readonly list: readonly unknown[],
  ) {}
}

/**
 * Returned from a `threaded` module's function: `value` comes back with the buffers in `list`
 * moved, not copied (the thread must not use them afterwards). Outside a thread it has no use.
 *
 * @example
 * ```ts
 * export default (img: Uint8Array) => { const out = resize(img); return transfer(out, [out.buffer]); };
 * ```
 */
export function transfer<T>(value: T, list: readonly unknown[]): T {
  return new TransferValue(value, list) as unknown as T;
}
