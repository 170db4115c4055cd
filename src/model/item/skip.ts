/**
 * Ends an item on purpose: a stage function that returns `Skip` hands nothing on for the item,
 * which ends as `skipped` — an outcome of its own, counted per stage and per flow (`skipped`) and
 * emitted as a `skip` event, never sent to the error handler. A filter, in one line.
 *
 * From a router's classifier it skips the item (no arm gets it); from a stage inside a fan-out
 * branch it skips the whole item, as a failure there fails it, reported once; from a batch
 * function, in an item's place, it skips that item. Under `ordered: true` a skipped item leaves no
 * gap: the items after it go on in order. `Last(Skip)` ends the flow with that item skipped.
 *
 * @example
 * ```ts
 * // Drop invalid rows on purpose: counted as skipped, not as failures.
 * flow.addTransformer((row: Row) => (row.email ? row : Skip));
 * ```
 */
export const Skip: unique symbol = Symbol.for("flowrhythm.skip");

/** The type of {@link Skip}. */
export type SkipValue = typeof Skip;

/** The item type a stage hands on when its function may return `Skip`. */
export type Unskip<T> = Exclude<T, SkipValue>;
