import { isCallable } from "../internal/callable.js";
import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import { name } from "../internal/option-fields.js";
import { type OptionsInput, optionsObject, parseOptions, readError } from "../internal/parse-options.js";
import { readArray } from "../internal/read-value.js";
import {
  type Composable,
  type InOf,
  isStageLike,
  type OutOf,
  SHAPE,
  STAGE_LIKE,
  type StageFn,
  type StageLike,
} from "./composable.js";
import { isPerWorker } from "./per-worker.js";

const optionsShape = {
  /** The fan-out stage's name (its merge stage), and the prefix of every branch's stages. @defaultValue the merge function's name, else `fanOut` */
  name: name().optional(),
};

/** Options of {@link fanOut}. */
export interface FanOutOptions extends OptionsInput<typeof optionsShape> {}

/** The results `merge` receives: one per branch, in branch order. */
export type BranchResults<B extends readonly unknown[]> = { -readonly [K in keyof B]: OutOf<B[K]> };

/** A fan-out made by {@link fanOut}; pass it to `addTransformer` or `flow(...)`. */
export class FanOut<In, Out> implements Composable<In, Out> {
  /** @internal Carries the input and output types for inference; declared, never set. */
  declare readonly "~io": { readonly in: (item: In) => void; readonly out: Out };
  /** @internal Which shape this is, for the builder. */
  readonly [SHAPE] = "fanOut" as const;

  constructor(
    /** The branches; each gets every item. */
    readonly branches: readonly StageLike<In, unknown>[],
    /** Combines the branches' results for one item (in branch order) into one output. */
    readonly merge: StageFn<unknown[], Out>,
    /** The merge stage's name. */
    readonly name: string | undefined,
  ) {}
}

const optionsSchema = optionsObject(optionsShape);
const BRANCHES = "a non-empty array of stages";

/**
 * Sends every item to every branch and merges the branch results for that item:
 * `merge([r0, r1, …], ctx)` receives them in branch order and returns the item handed on.
 * Each branch is a sub-pipeline (a function, `perWorker(...)`, a `Flow`, a router, a batch, or
 * another fan-out) with its own queues and workers; results stay paired with their item
 * however many workers the branches run and however fast each is.
 *
 * The fan-out stage is the merge stage, named `name`; branch stages are `<name>.<branch>`
 * (the branch function's name, else `branch<N>`). When any branch fails an item, the item is one
 * `TransformerError` of the fan-out stage and its other branch results are discarded.
 *
 * @example
 * ```ts
 * flow.addTransformer(fanOut([geocode, weather], ([place, sky]) => ({ place, sky }), { name: "enrich" }));
 * ```
 */
export function fanOut<const B extends readonly [StageLike<any, any>, ...StageLike<any, any>[]], Out>(
  branches: B,
  merge: StageFn<BranchResults<B>, Out>,
  options?: FanOutOptions,
): FanOut<InOf<B[number]>, Out> {
  // Read once, element by element: a hole in a sparse array is a missing branch, not a skip.
  const read = readArray(branches);
  if (!read.ok) throw readError("fanOut", "branches", read.problem, branches, BRANCHES);
  const list = read.value;
  if (list.length === 0)
    throw new FlowConfigError(`fanOut: branches = ${describeValue(branches)}: expected ${BRANCHES}`, {
      option: "branches",
    });
  list.forEach((b, i) => {
    if (!isStageLike(b))
      throw new FlowConfigError(
        `fanOut: branches.${i} (branch ${i + 1}) = ${describeValue(b)}: expected ${STAGE_LIKE}`,
        {
          option: `branches.${i}`,
        },
      );
  });
  if (!isCallable(merge) && !isPerWorker(merge))
    throw new FlowConfigError(
      `fanOut: merge = ${describeValue(merge)}: expected a function (results, ctx) => item, or perWorker(...)`,
      { option: "merge" },
    );
  const o = parseOptions(optionsSchema, options, "fanOut");
  return new FanOut(list as never, merge as never, o.name);
}
