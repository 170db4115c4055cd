import type { DropReason } from "../../model/events.js";

/**
 * One item inside a fan-out: the results of its branches, collected until every branch has
 * answered. `item` is the entry that entered the fan-out — the item itself, or an
 * {@link Envelope} when the fan-out sits inside another fan-out's branch.
 *
 * Invariant: a record is settled at most once. Once settled (reported as failed or dropped),
 * every later branch outcome for it is discarded: the item already reached its terminal state.
 */
export class JoinRecord {
  results: unknown[];
  pending: number;
  settled = false;
  /** Branches other than an expanding one whose results are in (a child merges once all are). */
  arrived = 0;
  /** Set once a `flatMap` in one of its branches made a child of this item. */
  expansion: Expansion | null = null;
  /** A `flatMap` child's record: the record of the item it came from, whose other results it merges with. */
  base: JoinRecord | null = null;

  constructor(
    readonly item: unknown,
    branches: number,
    /** The fan-out stage's name, used for the item's error and drop events. */
    readonly name: string,
  ) {
    this.results = new Array(branches);
    this.pending = branches;
  }

  /** The record of a child that a `flatMap` in one of this item's branches made of it. */
  child(value: unknown): JoinRecord {
    const r = new JoinRecord(value, 0, this.name);
    r.base = this;
    return r;
  }
}

/** How an item that did not reach the merge ended: its children, waiting there, end the same way. */
export type Spoil =
  | { readonly kind: "failed"; readonly error: unknown; readonly attempt: number }
  | { readonly kind: "dropped"; readonly reason: DropReason }
  | { readonly kind: "skipped" };

/**
 * A fan-out item expanded by a `flatMap` in one of its branches (a lateral join): each child goes
 * through the rest of that branch and merges with the other branches' results for its parent,
 * waiting at the join until they are all in. The parent's outcome is `expanded`; if another
 * branch fails, drops or skips the parent after that, the children take that outcome instead
 * (`spoil`).
 */
export class Expansion {
  spoil: Spoil | null = null;
  /** Children waiting at the join for the other branches. */
  readonly waiters: (() => void)[] = [];

  wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** A branch's copy of a fan-out item: its current value, and where its result goes. */
export class Envelope {
  constructor(
    public value: unknown,
    readonly record: JoinRecord,
    readonly index: number,
  ) {}
}

/** Where and as what a terminal outcome is reported. */
export interface TerminalTarget {
  readonly item: unknown;
  readonly stage: string;
}

/**
 * Resolves a queue entry to the item to report and the stage to name, settling every fan-out
 * record on the way out (a branch's failure is its item's failure, once). Returns `null` when
 * the item already reached a terminal state: the outcome is discarded. An item a `flatMap` in a
 * branch has expanded already has its outcome (`expanded`): another branch's outcome for it
 * becomes its children's (`spoil`), unless `own` (the expansion itself failed or was dropped).
 */
export function settleEntry(
  entry: unknown,
  stage: string,
  spoil?: Spoil,
  own = false,
): TerminalTarget | null {
  let item = entry;
  let name = stage;
  for (;;) {
    if (item instanceof Envelope) item = item.record;
    if (!(item instanceof JoinRecord)) return { item, stage: name };
    if (item.settled) return null;
    const x = item.expansion;
    if (x !== null && spoil !== undefined) {
      x.spoil ??= spoil;
      x.wake();
      if (!own) return null;
    }
    item.settled = true;
    name = item.name;
    item = item.item;
  }
}
