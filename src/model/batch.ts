import { isCallable } from "../internal/callable.js";
import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import { ms, name, whole } from "../internal/option-fields.js";
import { type OptionsInput, optionsObject, parseOptions } from "../internal/parse-options.js";
import { type Composable, SHAPE } from "./composable.js";
import type { LastValue } from "./item/last.js";
import { isPerWorker, type PerWorker } from "./per-worker.js";
import type { SkipValue } from "./item/skip.js";
import type { StageContext } from "./types.js";

/** The batch settings a stage runs with when its options leave them out. */
export const BATCH_DEFAULTS = Object.freeze({ flushMs: 1000 });

const optionsShape = {
  /** The most items handed to one call. A whole number ≥ 1. */
  size: whole(1),
  /**
   * A partial batch is flushed once its oldest item has waited this long; `Infinity` flushes
   * only full batches (and the partial one at the end of input or on drain).
   * @defaultValue 1000
   */
  flushMs: ms({ above: true, infinity: "flush only full batches" }).default(BATCH_DEFAULTS.flushMs),
  /** The stage's name. @defaultValue the function's name, else `batch` */
  name: name().optional(),
};

/** Options of {@link batch}. */
export interface BatchOptions extends OptionsInput<typeof optionsShape> {}

/** The batch settings a stage runs with. */
export interface BatchSettings {
  readonly size: number;
  readonly flushMs: number;
}

/** One result per item (`Skip` in an item's place skips it); nothing at all from a batch stage that ends the flow. */
// biome-ignore lint/suspicious/noConfusingVoidType: a consumer's batch function returns nothing; `undefined` would reject `async () => {}`
export type BatchResult<Out> = readonly (Out | LastValue<Out | SkipValue> | SkipValue)[] | void;

/** A batch function: items in, one result per item out (ignored when the stage is the last one). */
export type BatchFn<In, Out> = (
  items: In[],
  ctx: StageContext,
) => BatchResult<Out> | PromiseLike<BatchResult<Out>>;

/** A per-worker batch resource: `process` takes the items of one batch. */
export type BatchResource<In, Out> = PerWorker<In[], BatchResult<Out>>;

/** A batch stage made by {@link batch}; pass it to `addTransformer`, `setConsumer` or `flow(...)`. */
export class Batch<In, Out> implements Composable<In, Out> {
  /** @internal Carries the input and output types for inference; declared, never set. */
  declare readonly "~io": { readonly in: (item: In) => void; readonly out: Out };
  /** @internal Which shape this is, for the builder. */
  readonly [SHAPE] = "batch" as const;

  constructor(
    /** Called once per batch (or a per-worker resource whose `process` is). */
    readonly fn: BatchFn<In, Out> | BatchResource<In, Out>,
    /** `size` and `flushMs`, checked. */
    readonly settings: BatchSettings,
    /** The stage's name. */
    readonly name: string | undefined,
  ) {}
}

const optionsSchema = optionsObject(optionsShape);

/**
 * A stage whose function takes items in groups: `fn(items, ctx)` receives up to `size` items
 * and returns one result per item, in order; each result goes on as its own item. A batch is
 * handed over when it is full, when its oldest item has waited `flushMs`, and — partial — at the
 * end of input and on `drain()`. The stage scales like any other: each worker takes whole
 * batches from the stage's queue, so the queue (at least `size` long) is the only buffer.
 *
 * When the batch stage is the consumer (or the last stage of a flow without one) its return
 * value is ignored; otherwise a result that is not an array of one entry per item fails every
 * item of the batch. A batch whose call throws reports each of its items as a
 * `TransformerError`. `size: 1` behaves like a plain stage.
 *
 * @example
 * ```ts
 * flow.setConsumer(batch(async (rows: Row[]) => { await db.insertMany(rows); }, { size: 500, flushMs: 200 }));
 * ```
 */
export function batch<In, Out = unknown>(
  fn: BatchFn<In, Out> | BatchResource<In, Out>,
  options: BatchOptions,
): Batch<In, Out> {
  if (!isCallable(fn) && !isPerWorker(fn))
    throw new FlowConfigError(
      `batch: fn = ${describeValue(fn)}: expected a function (items, ctx) => results, or perWorker(...)`,
      { option: "fn" },
    );
  const o = parseOptions(optionsSchema, options, "batch");
  return new Batch(fn, { size: o.size, flushMs: o.flushMs }, o.name);
}
