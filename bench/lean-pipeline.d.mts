/** See lean-pipeline.mjs: the hand-written 3-stage bounded pipeline the throughput bench measures as a reference. */
export function leanPipeline<T>(
  source: Iterable<T>,
  fns: readonly ((item: any) => unknown)[],
  workers: number,
  capacity: number,
): Promise<void>;
