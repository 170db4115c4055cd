/**
 * One item inside a fan-out: the results of its branches, collected until every branch has
 * answered. `item` is the entry that entered the fan-out — the item itself, or an
 * {@link Envelope} when the fan-out sits inside another fan-out's branch.
 *
 * Invariant: a record is settled at most once. Once settled (reported as failed or dropped),
 * every later branch outcome for it is discarded: the item already reached its terminal state.
 */
export class JoinRecord {
  readonly results: unknown[];
  pending: number;
  settled = false;

  constructor(
    readonly item: unknown,
    branches: number,
    /** The fan-out stage's name, used for the item's error and drop events. */
    readonly name: string,
  ) {
    this.results = new Array(branches);
    this.pending = branches;
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
 * the item already reached a terminal state: the outcome is discarded.
 */
export function settleEntry(entry: unknown, stage: string): TerminalTarget | null {
  let item = entry;
  let name = stage;
  for (;;) {
    if (item instanceof Envelope) item = item.record;
    if (!(item instanceof JoinRecord)) return { item, stage: name };
    if (item.settled) return null;
    item.settled = true;
    name = item.name;
    item = item.item;
  }
}
