import type { StageContext, WorkerInfo } from "../../model/types.js";
import type { Lineage } from "../lineage.js";

/** The worker's context as the runtime writes it (users see it read-only). */
export type MutableContext = { -readonly [K in keyof StageContext]: StageContext[K] };

/**
 * A worker's `ctx`, one per worker, rewritten per item. `parentId` is looked up when read rather
 * than written per item (a check per call measured ~3 % of the per-item cost); a class, so that
 * the getter lives on the prototype and the fields stay fast (a getter in an object literal
 * measured slower than the check).
 */
export class WorkerContext implements MutableContext {
  attempt = 1;
  id = 0;
  ids: readonly number[] | undefined = undefined;
  readonly #lineage: Lineage;

  constructor(
    public signal: AbortSignal,
    public stage: string,
    public worker: WorkerInfo,
    public runId: string,
    lineage: Lineage,
  ) {
    this.#lineage = lineage;
  }

  get parentId(): number | undefined {
    return this.#lineage.parentOf(this.id);
  }
}
