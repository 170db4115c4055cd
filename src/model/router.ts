import type { z } from "zod";
import { isCallable } from "../internal/callable.js";
import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import { name } from "../internal/option-fields.js";
import {
  check,
  type OptionsInput,
  optionsObject,
  parseOptions,
  readError,
} from "../internal/parse-options.js";
import { readOptionsObject } from "../internal/read-value.js";
import {
  type Composable,
  type InOf,
  isStageLike,
  type OutOf,
  SHAPE,
  STAGE_LIKE,
  type StageLike,
} from "./composable.js";
import type { StageContext } from "./types.js";

function optionsShape<D>() {
  return {
    /** Where an item goes when its label names no arm. @defaultValue none: the item is dropped (`ROUTER_MISS`) */
    default: (
      check<StageLike<unknown, unknown>>(isStageLike, STAGE_LIKE) as unknown as z.ZodType<D, D>
    ).optional(),
    /** The classifier stage's name, and the prefix of every arm's stages. @defaultValue the classifier's function name, else `router` */
    name: name().optional(),
  };
}

/** Options of {@link router}. */
export interface RouterOptions<D> extends OptionsInput<ReturnType<typeof optionsShape<D>>> {}

/** A router made by {@link router}; pass it to `addTransformer` or `flow(...)`. */
export class Router<In, Out> implements Composable<In, Out> {
  /** @internal Carries the input and output types for inference; declared, never set. */
  declare readonly "~io": { readonly in: (item: In) => void; readonly out: Out };
  /** @internal Which shape this is, for the builder. */
  readonly [SHAPE] = "router" as const;

  constructor(
    /** Returns the key of the arm an item goes to. */
    readonly classify: (item: In, ctx: StageContext) => unknown,
    /** The arms by key. */
    readonly arms: Readonly<Record<string, StageLike<In, unknown>>>,
    /** The `default` arm, for keys no arm has (else the item is dropped, `ROUTER_MISS`). */
    readonly fallback: StageLike<In, unknown> | undefined,
    /** The classifier stage's name. */
    readonly name: string | undefined,
  ) {}
}

const ARMS = "an object with at least one arm ({ label: stage, … })";

const optionsSchema = optionsObject(optionsShape<StageLike<unknown, unknown>>());

/**
 * Sends each item to one arm, chosen by a label. `classify(item, ctx)` runs as its own stage
 * (with its own queue, workers and stats) and returns the label; the item goes, unchanged, to
 * the arm of that name (labels are compared as strings; `undefined` and `null` name no arm).
 * Each arm is a sub-pipeline — a function, `perWorker(...)`, a `Flow`, or another shape — whose
 * stages are named `<router>.<arm>` (`<router>.<arm>.<stage>` for a flow). All arms merge into
 * whatever follows the router, whose input closes only once every arm has drained.
 *
 * An item whose label names no arm goes to `default`, and without one is reported as
 * `Dropped` with reason `ROUTER_MISS`.
 *
 * @example
 * ```ts
 * flow.addTransformer(router((img: Image) => (img.bytes > 1e6 ? "large" : "small"), {
 *   small: thumbnail,
 *   large: new Flow().addTransformer(downscale).addTransformer(thumbnail),
 * }));
 * ```
 */
export function router<
  In,
  A extends Record<string, StageLike<In, any>>,
  D extends StageLike<In, any> = never,
>(
  classify: (item: In, ctx: StageContext) => unknown,
  arms: A,
  options?: RouterOptions<D>,
): Router<In & InOf<A[keyof A]>, OutOf<A[keyof A]> | OutOf<D>> {
  if (!isCallable(classify))
    throw new FlowConfigError(
      `router: classify = ${describeValue(classify)}: expected a function (item, ctx) => label`,
      { option: "classify" },
    );
  // The arms are read once, like an options object: a plain object of string labels.
  const read = readOptionsObject(arms);
  if (!read.ok) throw readError("router", "arms", read.problem, arms, ARMS);
  const labelled = read.value;
  if (Object.keys(labelled).length === 0)
    throw new FlowConfigError(`router: arms = ${describeValue(arms)}: expected ${ARMS}`, { option: "arms" });
  for (const [label, arm] of Object.entries(labelled)) {
    if (!isStageLike(arm))
      throw new FlowConfigError(`router: arm "${label}" = ${describeValue(arm)}: expected ${STAGE_LIKE}`, {
        option: `arms.${label}`,
      });
  }
  const o = parseOptions(optionsSchema, options, "router");
  if (o.default !== undefined && Object.hasOwn(labelled, "default"))
    throw new FlowConfigError(
      'router: an arm is labelled "default" and options.default is set too; rename the arm',
      { option: "arms.default" },
    );
  return new Router(classify as never, { ...labelled } as never, o.default as never, o.name);
}
