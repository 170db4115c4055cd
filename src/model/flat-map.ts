import { FlowConfigError } from "../errors.js";
import { isCallable } from "../internal/callable.js";
import { describeValue } from "../internal/describe.js";
import { name } from "../internal/option-fields.js";
import { type OptionsInput, optionsObject, parseOptions } from "../internal/parse-options.js";
import { type Composable, SHAPE } from "./composable.js";
import { isPerWorker, type PerWorker } from "./per-worker.js";
import type { SkipValue } from "./item/skip.js";
import type { StageContext } from "./types.js";

const optionsShape = {
  /** The stage's name. @defaultValue the function's name, else `flatMap` */
  name: name().optional(),
};

/** Options of {@link flatMap}. */
export interface FlatMapOptions extends OptionsInput<typeof optionsShape> {}

/** What a `flatMap` function gives for one item: the children, pulled one at a time. */
export type Children<Out> = Iterable<Out> | AsyncIterable<Out>;

/** A `flatMap` function: one item in, any number of items out (or `Skip`: the item is skipped). */
export type FlatMapFn<In, Out> = (
  item: In,
  ctx: StageContext,
) => Children<Out> | SkipValue | PromiseLike<Children<Out> | SkipValue>;

/** A per-worker `flatMap` resource: `process` gives the children of one item. */
export type FlatMapResource<In, Out> = PerWorker<In, Children<Out> | SkipValue>;

/** A stage made by {@link flatMap}; pass it to `addTransformer` or `flow(...)`. */
export class FlatMap<In, Out> implements Composable<In, Out> {
  /** @internal Carries the input and output types for inference; declared, never set. */
  declare readonly "~io": { readonly in: (item: In) => void; readonly out: Out };
  /** @internal Which shape this is, for the builder. */
  readonly [SHAPE] = "flatMap" as const;

  constructor(
    /** Called once per item (or a per-worker resource whose `process` is). */
    readonly fn: FlatMapFn<In, Out> | FlatMapResource<In, Out>,
    /** The stage's name. */
    readonly name: string | undefined,
  ) {}
}

const optionsSchema = optionsObject(optionsShape);

/**
 * A stage that turns each item into any number of items: `fn(item, ctx)` returns an iterable or
 * an async iterable (a generator, say), and each value it gives goes on downstream as a new item
 * with an id of its own and `ctx.parentId` naming the item it came from. The children are pulled
 * one at a time, each only once downstream has taken the one before: an item that expands
 * 100,000-fold holds one child at a time, never a list.
 *
 * The item itself ends `expanded` (an `expand` event with its child count) once its iterator is
 * done; it has no output of its own (`fn` returning `Skip` skips it). If the iterator throws
 * half-way, the children already sent go on and the item fails, its error saying how many it
 * gave. A failure before the first child is an attempt like any other (`retry` applies); after it,
 * final, since a retry would send the children twice. `timeoutMs` bounds the call and each pull.
 * `stop()` closes the iterator (`return()`, not awaited, even while a pull is pending);
 * `drain()` lets it finish. With `ordered: true`, the children of one item come out in their order
 * and before those of later items. An acknowledged source item is acknowledged once every child
 * has its outcome.
 *
 * @example
 * ```ts
 * new Flow<string>().addTransformer(flatMap(async function* (url: string) { yield* await links(url); }))
 * ```
 */
export function flatMap<In, Out>(
  fn: FlatMapFn<In, Out> | FlatMapResource<In, Out>,
  options: FlatMapOptions = {},
): FlatMap<In, Out> {
  if (!isCallable(fn) && !isPerWorker(fn))
    throw new FlowConfigError(
      `flatMap: fn = ${describeValue(fn)}: expected a function (item, ctx) => iterable or async iterable, or perWorker(...)`,
      { option: "fn" },
    );
  const o = parseOptions(optionsSchema, options, "flatMap");
  return new FlatMap(fn, o.name);
}
