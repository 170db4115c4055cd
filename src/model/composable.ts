import { isCallable } from "../internal/callable.js";
import type { LastValue, Unlast } from "./item/last.js";
import { isPerWorker, type PerWorker } from "./per-worker.js";
import type { SkipValue, Unskip } from "./item/skip.js";
import type { StageContext } from "./types.js";

/**
 * Something that can stand where a stage stands (a `Flow`, a router, a fan-out, a batch stage).
 * `"~io"` carries its input and output types for inference only: it is declared, never set.
 */
export interface Composable<In, Out> {
  /** @internal Carries the input and output types for inference; declared, never set. */
  readonly "~io": { readonly in: (item: In) => void; readonly out: Out };
}

/** A stage's function or a per-worker factory; either may return `Last(value)` or `Skip`. */
export type StageFn<In, Out> =
  | ((
      item: In,
      ctx: StageContext,
    ) =>
      | Out
      | LastValue<Out | SkipValue>
      | SkipValue
      | PromiseLike<Out | LastValue<Out | SkipValue> | SkipValue>)
  | PerWorker<In, Out | LastValue<Out | SkipValue> | SkipValue>;

/** Anything `addTransformer` and `flow(...)` take: a function, `perWorker(...)`, a flow or a shape. */
export type StageLike<In, Out> = StageFn<In, Out> | Composable<In, Out>;

/** The input type of a stage-like value. */
export type InOf<F> =
  F extends Composable<infer A, any>
    ? A
    : F extends (item: infer A, ctx: any) => any
      ? A
      : F extends PerWorker<infer A, any>
        ? A
        : never;

/** The output type of a stage-like value (what the next stage receives). */
export type OutOf<F> =
  F extends Composable<any, infer R>
    ? R
    : F extends (item: any, ctx: any) => infer R
      ? Unskip<Unlast<Awaited<R>>>
      : F extends PerWorker<any, infer R>
        ? Unskip<Unlast<R>>
        : never;

/** Marks a router, fan-out or batch descriptor. */
export const SHAPE: unique symbol = Symbol.for("flowrhythm.shape");
/** Marks a `Flow`: the key of its stage tree, for composing it into another flow. */
export const TREE: unique symbol = Symbol.for("flowrhythm.tree");

const SHAPES: readonly unknown[] = ["batch", "router", "fanOut", "flatMap"];

/** Whether `v` can stand where a stage stands (a class cannot: it is not a function to call). */
export function isStageLike(v: unknown): boolean {
  if (typeof v === "function") return isCallable(v);
  if (typeof v !== "object" || v === null) return false;
  try {
    const o = v as Record<symbol, unknown>;
    return isPerWorker(v) || SHAPES.includes(o[SHAPE]) || typeof o[TREE] === "function";
  } catch {
    return false; // a Proxy whose traps throw
  }
}

export const STAGE_LIKE =
  "a stage function, perWorker(...), a Flow, or a router / fanOut / batch / flatMap (a class must be wrapped in a function)";
