import { Flow, type StageFn } from "./flow.js";

type InOf<F> = F extends StageFn<infer A, any> ? A : never;
type OutOf<F> = F extends (item: any, ctx: any) => infer R
  ? Awaited<R>
  : F extends StageFn<any, infer R>
    ? R
    : never;
type LastOf<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L] ? L : never;

/**
 * Checks a tuple of stages left to right: each stage must accept the previous one's output.
 * Each position becomes its own type intersected with "a stage taking the previous output",
 * so a mismatch is reported on the stage that does not fit.
 */
export type ChainOf<
  F extends readonly unknown[],
  Prev = never,
  Acc extends unknown[] = [],
> = F extends readonly [infer H, ...infer T]
  ? ChainOf<T, OutOf<H>, [...Acc, [Prev] extends [never] ? H : H & StageFn<Prev, any>]>
  : Acc;

/**
 * Builds a `Flow` whose stages are the given functions, in order; the output type of each is
 * the input type of the next, checked at compile time.
 *
 * @example
 * ```ts
 * const chain = flow(parse, enrich, store);
 * await chain.run(lines);
 * for await (const row of flow(parse, enrich).stream(lines)) console.log(row);
 * ```
 */
export function flow<const F extends readonly [StageFn<any, any>, ...StageFn<any, any>[]]>(
  ...stages: F & ChainOf<F>
): Flow<InOf<F[0]>, OutOf<LastOf<F>>> {
  const f = new Flow<any, any>();
  for (const stage of stages as readonly StageFn<any, any>[]) f.addTransformer(stage);
  return f as Flow<InOf<F[0]>, OutOf<LastOf<F>>>;
}
