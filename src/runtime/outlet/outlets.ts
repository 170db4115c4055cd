import type { DropReason } from "../../model/events.js";
import { Envelope, JoinRecord } from "./join-record.js";

/**
 * Where a stage hands its outputs: the next stage's input channel, a router, a fan-out's split
 * or join, or the end of the flow.
 *
 * `send` returns `true` when the value was taken at once, or a promise that settles once it was
 * taken (`true`) or refused because the flow stopped or was cut (`false`: the caller still owns
 * the value and reports it dropped). Outlets that take part of a value before a refusal
 * (a split) report it themselves and resolve `true`.
 *
 * Feeders: every stage (and the producer) feeding an outlet registers once; when the last one is
 * done, the outlet passes "done" on, so a stage's input closes only after everything feeding it
 * has finished.
 */
export interface Outlet {
  /**
   * `id` is the item's (it travels beside the value); `label` is a classifier's output (a
   * router's); `signal` (push mode only) withdraws the value if it aborts before the value got in.
   */
  send(value: unknown, id: number, label?: unknown, signal?: AbortSignal): true | Promise<boolean>;
  /** Whether `send` would take a value at once (push mode's `trySend`). */
  hasRoom(): boolean;
  addFeeder(): void;
  feederDone(): void;
}

/** What the outlets need from the stages they report to. */
export interface DropTarget {
  readonly name: string;
  drop(entry: unknown, id: number, reason: DropReason): void;
}

/** What outlets need from the run. */
export interface OutletHost {
  /** Item `id` reached the end of the flow: consumed. */
  consume(id: number): void;
  /** Why a channel refused a value: the flow stopped, or a `Last` cut it off. */
  refusalReason(): DropReason;
}

/** An outlet that passes "done" on to its targets once all its own feeders are done. */
abstract class CompositeOutlet implements Outlet {
  #feeders = 0;
  readonly #targets: readonly Outlet[];

  constructor(targets: readonly Outlet[]) {
    this.#targets = [...new Set(targets)];
    for (const t of this.#targets) t.addFeeder();
  }

  abstract send(value: unknown, id: number, label?: unknown, signal?: AbortSignal): true | Promise<boolean>;

  hasRoom(): boolean {
    return this.#targets.every((t) => t.hasRoom());
  }

  addFeeder(): void {
    this.#feeders++;
  }

  feederDone(): void {
    if (--this.#feeders === 0) for (const t of this.#targets) t.feederDone();
  }
}

/** The end of a flow without a stream reader: what arrives is consumed. */
export class ConsumedSink implements Outlet {
  constructor(private readonly host: OutletHost) {}
  send(_value: unknown, id: number): true {
    this.host.consume(id);
    return true;
  }
  hasRoom(): true {
    return true;
  }
  addFeeder(): void {}
  feederDone(): void {}
}

/** Where a stage cut off by `Last` sends what it still produces: every value is dropped. */
export class DropOutlet implements Outlet {
  constructor(private readonly stage: DropTarget) {}
  send(value: unknown, id: number): true {
    this.stage.drop(value, id, "UPSTREAM_TERMINATED");
    return true;
  }
  hasRoom(): true {
    return true;
  }
  addFeeder(): void {}
  feederDone(): void {}
}

/** A router's outlet: sends the classified entry to the arm its label names. */
export class RouterOutlet extends CompositeOutlet {
  constructor(
    private readonly arms: ReadonlyMap<string, Outlet>,
    private readonly fallback: Outlet | null,
    private readonly classifier: DropTarget,
  ) {
    super(fallback ? [...arms.values(), fallback] : [...arms.values()]);
  }

  send(entry: unknown, id: number, label: unknown, signal?: AbortSignal): true | Promise<boolean> {
    let arm: Outlet | null | undefined = null;
    if (label !== undefined && label !== null) {
      try {
        arm = this.arms.get(typeof label === "string" ? label : String(label));
      } catch {
        arm = null; // a label that cannot be made a string names no arm
      }
    }
    arm ??= this.fallback;
    if (arm === null) {
      this.classifier.drop(entry, id, "ROUTER_MISS");
      return true;
    }
    return arm.send(entry, id, undefined, signal);
  }
}

/**
 * A fan-out's entry: makes one {@link JoinRecord} per item and sends an {@link Envelope} to each
 * branch, in order, waiting for room in each. A refusal by the first branch resolves `false`
 * (the sender still owns the item); a refusal midway drops the item once (through its record)
 * and resolves `true`: the split owns the item from the first branch on.
 */
export class SplitOutlet extends CompositeOutlet {
  constructor(
    private readonly branches: readonly Outlet[],
    private readonly fanOut: DropTarget,
    private readonly host: OutletHost,
    /** Whether the split sits inside another fan-out's branch (its entries are envelopes). */
    private readonly nested: boolean,
  ) {
    super(branches);
  }

  // `signal` can withdraw the item only while it waits for the first branch: from then on the
  // split owns it.
  send(entry: unknown, id: number, _label?: unknown, signal?: AbortSignal): true | Promise<boolean> {
    const value = this.nested ? (entry as Envelope).value : entry;
    const record = new JoinRecord(entry, this.branches.length, this.fanOut.name);
    for (let i = 0; i < this.branches.length; i++) {
      const env = new Envelope(value, record, i);
      const r = this.branches[i]!.send(env, id, undefined, i === 0 ? signal : undefined);
      if (r !== true) return this.#rest(r, value, env, i, id);
    }
    return true;
  }

  // A branch may already have rewritten an earlier envelope's value: copies start from `value`.
  // A refusal by the first branch leaves the item with the sender (nothing of it got in).
  async #rest(
    pending: Promise<boolean>,
    value: unknown,
    env: Envelope,
    from: number,
    id: number,
  ): Promise<boolean> {
    let r: true | Promise<boolean> = pending;
    let current = env;
    for (let i = from; ; ) {
      if (r !== true && !(await r)) {
        if (i === 0) return false;
        this.fanOut.drop(current, id, this.host.refusalReason());
        return true;
      }
      if (++i === this.branches.length || current.record.settled) return true;
      current = new Envelope(value, current.record, i);
      r = this.branches[i]!.send(current, id);
    }
  }
}

/** What a join reports its waiting children's outcomes to (the merge stage). */
export interface JoinReporter {
  failed(entry: unknown, id: number, error: unknown, attempt: number): Promise<void>;
  drop(entry: unknown, id: number, reason: DropReason): void;
  skipped(entry: unknown, id: number): void;
}

/**
 * The end of one fan-out branch: files the result; the last one in sends the record to merge.
 * A `flatMap` child (a record with a `base`) merges with its parent's other results once they are
 * all in, its sender waiting (blocked) until then — or takes its parent's outcome if another
 * branch failed, dropped or skipped the parent meanwhile.
 */
export class JoinOutlet extends CompositeOutlet {
  constructor(
    private readonly merge: Outlet,
    private readonly reporter: JoinReporter,
  ) {
    super([merge]);
  }

  send(env: unknown, id: number): true | Promise<boolean> {
    const e = env as Envelope;
    const record = e.record;
    if (record.base !== null) return this.#child(e, record, record.base, id);
    if (record.settled) return true;
    record.results[e.index] = e.value;
    record.arrived++;
    if (record.expansion !== null && record.arrived === record.results.length - 1) record.expansion.wake();
    if (--record.pending !== 0) return true;
    return this.merge.send(record, id);
  }

  #child(e: Envelope, record: JoinRecord, base: JoinRecord, id: number): true | Promise<boolean> {
    if (record.settled) return true;
    const x = base.expansion!;
    const spoil = x.spoil;
    if (spoil !== null) {
      if (spoil.kind === "failed") void this.reporter.failed(e, id, spoil.error, spoil.attempt);
      else if (spoil.kind === "dropped") this.reporter.drop(e, id, spoil.reason);
      else this.reporter.skipped(e, id);
      return true;
    }
    if (base.arrived < base.results.length - 1)
      return new Promise<boolean>((resolve) =>
        x.waiters.push(() => {
          const r = this.#child(e, record, base, id);
          if (r === true) resolve(true);
          else void r.then(resolve);
        }),
      );
    const results = base.results.slice();
    results[e.index] = e.value;
    record.results = results;
    record.pending = 0;
    return this.merge.send(record, id);
  }
}
