/** The brand of a `LastValue` (a registered symbol: the same in every copy of the module, in every thread). */
export const LAST_BRAND: unique symbol = Symbol.for("flowrhythm.last");

/**
 * What `Last(value)` returns: a marker the runtime unwraps. A stage function that returns one
 * makes `value` the final item its stage hands on.
 */
export class LastValue<T> {
  /** @internal Tells a `LastValue` from any other object with a `value`, in any copy of this module. */
  readonly [LAST_BRAND] = true;
  constructor(
    /** The final item its stage hands on. */
    readonly value: T,
  ) {}
}

/**
 * Ends a flow early from inside a stage: `value` becomes the last item the consumer sees.
 * Everything cut off upstream of the stage — the producer, items in earlier queues, items
 * still being processed by earlier stages or by other workers of this stage — is reported as
 * `Dropped` with reason `UPSTREAM_TERMINATED`; items that already left the stage still arrive.
 * The flow then drains and ends as usual.
 *
 * A classifier and a stage inside a fan-out branch cannot end the flow; a `Last` returned there
 * is a `TransformerError`. Return it from the fan-out's `merge` instead.
 *
 * @example
 * ```ts
 * // Stop reading once the first match is found.
 * flow.addTransformer((line: string) => (line.includes("needle") ? Last(line) : line));
 * ```
 */
export function Last<T>(value: T): LastValue<T> {
  return new LastValue(value);
}

/** The item type a stage hands on when its function may return `Last(...)`. */
export type Unlast<T> = T extends LastValue<infer V> ? V : T;
