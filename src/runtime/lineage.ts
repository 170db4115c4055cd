import { type AckCallbacks, Acked, type NackReason } from "../model/item/acked.js";

/**
 * An item whose outcome someone waits for: an acknowledged source item, an item a `flatMap` is
 * expanding, or a child of one. `open` counts the item itself (until its own outcome) and each
 * of its children still without a final outcome; `failure` is the first failure or drop of it or
 * a descendant (null while all went well).
 */
interface Node {
  readonly id: number;
  readonly parent: Node | null;
  readonly handlers: AckCallbacks | null;
  open: number;
  failure: NackReason | null;
  /** The item's own outcome has been reported (it may still wait for children). */
  ended: boolean;
}

/** What the lineage reports to the run. */
export interface LineageHost {
  /** An `ack`/`nack` threw or rejected: reported, never an item's outcome. */
  ackFailed(id: number, which: "ack" | "nack", error: unknown): void;
}

/**
 * Who descends from whom, and who waits for whose outcome — kept only for the items that need it
 * (acknowledged source items, the items a `flatMap` expands, and their children), so a flow with
 * neither pays one boolean test per outcome.
 *
 * Invariants: a node leaves the map exactly when its own outcome and every child's final outcome
 * are in (so memory is bounded by the items in flight); then its source is told once (`ack` if
 * it and every descendant ended well, else `nack`), and its parent's count drops by one.
 */
export class Lineage {
  /** Set once any item is tracked: every outcome then looks its id up. */
  active = false;
  readonly #nodes = new Map<number, Node>();

  constructor(private readonly host: LineageHost) {}

  /**
   * An item entering as `id`: an `acked(...)` wrapper is tracked (its source waits for the
   * outcome) and taken off. Returns the item itself.
   */
  admit(id: number, value: unknown): unknown {
    if (!(value instanceof Acked)) return value;
    this.active = true;
    this.#nodes.set(id, { id, parent: null, handlers: value, open: 1, failure: null, ended: false });
    return value.value;
  }

  /** `id`'s parent (a `flatMap`'s input it came from), if it has one. */
  parentOf(id: number): number | undefined {
    return this.#nodes.get(id)?.parent?.id;
  }

  /** Child `childId` of item `parentId`, which a `flatMap` is expanding. */
  child(parentId: number, childId: number): void {
    this.active = true;
    let parent = this.#nodes.get(parentId);
    if (parent === undefined) {
      parent = { id: parentId, parent: null, handlers: null, open: 1, failure: null, ended: false };
      this.#nodes.set(parentId, parent);
    }
    parent.open++;
    this.#nodes.set(childId, { id: childId, parent, handlers: null, open: 1, failure: null, ended: false });
  }

  /** Whether item `id`'s outcome is waited for (build a {@link NackReason} only then). */
  tracks(id: number): boolean {
    return this.#nodes.has(id);
  }

  /** Item `id` reached its own outcome: consumed, skipped or expanded (`failure` null), or not. */
  settle(id: number, failure: NackReason | null): void {
    const node = this.#nodes.get(id);
    if (node === undefined || node.ended) return;
    node.ended = true;
    node.failure ??= failure;
    for (let n: Node | null = node; n !== null && --n.open === 0; ) {
      this.#nodes.delete(n.id);
      const parent: Node | null = n.parent;
      if (n.handlers !== null) this.#tell(n.id, n.handlers, n.failure);
      if (parent !== null) parent.failure ??= n.failure;
      n = parent;
    }
  }

  #tell(id: number, handlers: AckCallbacks, failure: NackReason | null): void {
    const which = failure === null ? "ack" : "nack";
    try {
      const r = failure === null ? handlers.ack() : handlers.nack(failure);
      if (r !== null && typeof r === "object" && typeof (r as PromiseLike<unknown>).then === "function")
        (r as PromiseLike<unknown>).then(undefined, (error: unknown) =>
          this.host.ackFailed(id, which, error),
        );
    } catch (error) {
      this.host.ackFailed(id, which, error);
    }
  }
}
