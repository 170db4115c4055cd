import type { InOf, OutOf, StageLike } from "../model/composable.js";
import { Flow } from "./flow.js";

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
  ? ChainOf<T, OutOf<H>, [...Acc, [Prev] extends [never] ? H : H & StageLike<Prev, any>]>
  : Acc;

/**
 * Builds a `Flow` whose stages are the given stages, in order — functions, `perWorker(...)`,
 * routers, fan-outs, batch stages or other flows; the output type of each is the input type of
 * the next, checked at compile time.
 *
 * @example
 * ```ts
 * const chain = flow(parse, enrich, store);
 * await chain.run(lines);
 * for await (const row of flow(parse, router(kind, { a: fixA, b: fixB })).stream(lines)) console.log(row);
 * ```
 */
export function flow<const F extends readonly [StageLike<any, any>, ...StageLike<any, any>[]]>(
  ...stages: F & ChainOf<F>
): Flow<InOf<F[0]>, OutOf<LastOf<F>>> {
  const f = new Flow<any, any>();
  for (const stage of stages as readonly StageLike<any, any>[]) f.addTransformer(stage);
  return f as Flow<InOf<F[0]>, OutOf<LastOf<F>>>;
}
