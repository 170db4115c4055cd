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
  /** `parentId` as read for item `#pinnedFor` (see {@link WorkerContext.pinParent}). */
  #pinned: number | undefined = undefined;
  #pinnedFor = -1;

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
    return this.#pinnedFor === this.id ? this.#pinned : this.#lineage.parentOf(this.id);
  }

  /** Reads `parentId` now, for a call whose item may reach its outcome elsewhere while it runs. */
  pinParent(): void {
    this.#pinned = this.#lineage.parentOf(this.id);
    this.#pinnedFor = this.id;
  }
}
