import { LastValue } from "../../model/last.js";
import { Skip } from "../../model/skip.js";
import type { Outlet } from "./outlets.js";

/** What a completed call left in its slot. */
export const Slot = { Single: 0, Last: 1, Many: 2, Hole: 3 } as const;
export type SlotKind = (typeof Slot)[keyof typeof Slot];

interface Pending {
  readonly kind: SlotKind;
  readonly value: unknown;
  readonly label: unknown;
}

const HOLE: Pending = { kind: Slot.Hole, value: undefined, label: undefined };

/** The worker that emits: hands values on, waiting (blocked) for room. */
export interface Emitter {
  sendTo(outlet: Outlet, value: unknown, label: unknown): undefined | Promise<void>;
  /** Waits, counted as blocked, until `p` settles. */
  waitBlocked(p: Promise<void>): Promise<void>;
}

/** The stage whose outputs are reordered. */
export interface ReorderStage {
  readonly outlet: Outlet;
  /** The outlet for a `Last` value; every later output of the stage is dropped. */
  takeOutletForLast(): Outlet;
}

/**
 * Puts a stage's outputs back in input order when several workers run it (`ordered: true`).
 * Each call gets a sequence number when its worker takes the item; a call that completes out of
 * turn leaves its output in a slot, and the worker that completes the next one in turn emits it
 * and every consecutive slot after it.
 *
 * Invariants: every sequence number taken is completed exactly once — with an output, several
 * (a batch), a `Last`, or a hole (the call failed); one worker emits at a time, so outputs leave
 * in order; at most `capacity` slots wait, and a worker whose slot would exceed that waits
 * (blocked) until the emitter has made room — so a slow head item backpressures the stage
 * rather than growing the buffer.
 */
export class ReorderBuffer {
  #nextTake = 0;
  #nextEmit = 0;
  #emitting = false;
  readonly #slots = new Map<number, Pending>();
  readonly #roomWaiters: (() => void)[] = [];

  constructor(
    private readonly stage: ReorderStage,
    private readonly capacity: number,
  ) {}

  /** The sequence number of the call a worker is about to make. */
  take(): number {
    return this.#nextTake++;
  }

  /** Files call `seq`'s outcome; returns what the worker must await before its next item. */
  complete(
    worker: Emitter,
    seq: number,
    kind: SlotKind,
    value: unknown,
    label: unknown,
  ): undefined | Promise<void> {
    if (seq === this.#nextEmit && !this.#emitting) return this.#emitFrom(worker, kind, value, label);
    this.#slots.set(seq, { kind, value, label });
    if (this.#slots.size <= this.capacity) return undefined;
    return worker.waitBlocked(new Promise<void>((resolve) => this.#roomWaiters.push(resolve)));
  }

  #emitFrom(worker: Emitter, kind: SlotKind, value: unknown, label: unknown): undefined | Promise<void> {
    this.#emitting = true;
    for (;;) {
      this.#nextEmit++;
      const r = this.#emit(worker, kind, value, label);
      if (r !== undefined) return r.then(() => this.#resume(worker));
      const next = this.#slots.get(this.#nextEmit);
      if (next === undefined) break;
      this.#slots.delete(this.#nextEmit);
      this.#wakeRoom();
      ({ kind, value, label } = next);
    }
    this.#emitting = false;
    return undefined;
  }

  #resume(worker: Emitter): undefined | Promise<void> {
    const next = this.#slots.get(this.#nextEmit);
    if (next === undefined) {
      this.#emitting = false;
      return undefined;
    }
    this.#slots.delete(this.#nextEmit);
    this.#wakeRoom();
    return this.#emitFrom(worker, next.kind, next.value, next.label);
  }

  #emit(worker: Emitter, kind: SlotKind, value: unknown, label: unknown): undefined | Promise<void> {
    switch (kind) {
      case Slot.Hole:
        return undefined;
      case Slot.Single:
        return worker.sendTo(this.stage.outlet, value, label);
      case Slot.Last:
        return this.#last(worker, value, label);
      default:
        return this.#emitMany(worker, value as readonly unknown[], 0);
    }
  }

  // A batch's outputs, in order; a `Last` among them ends the stage's output after its value.
  #emitMany(worker: Emitter, values: readonly unknown[], from: number): undefined | Promise<void> {
    for (let i = from; i < values.length; i++) {
      const v = values[i];
      const r =
        v instanceof LastValue
          ? this.#last(worker, v.value, v.value)
          : worker.sendTo(this.stage.outlet, v, v);
      if (r !== undefined) return r.then(() => this.#emitMany(worker, values, i + 1));
    }
    return undefined;
  }

  // The stage's last output; `Last(Skip)` (its item skipped already) ends the output with nothing.
  #last(worker: Emitter, value: unknown, label: unknown): undefined | Promise<void> {
    const outlet = this.stage.takeOutletForLast();
    return value === Skip ? undefined : worker.sendTo(outlet, value, label);
  }

  /**
   * `stop()` gave up on the call that took `seq`: its slot becomes a hole. When the outputs
   * behind it were waiting for it alone, they are dropped with `drop` at once (the flow is
   * stopping: nothing goes downstream any more), so no item waits for a call that will not end.
   */
  abandon(seq: number, drop: (value: unknown) => void): void {
    if (seq !== this.#nextEmit || this.#emitting) {
      this.#slots.set(seq, HOLE);
      return;
    }
    this.#nextEmit++;
    for (
      let next = this.#slots.get(this.#nextEmit);
      next !== undefined;
      next = this.#slots.get(this.#nextEmit)
    ) {
      this.#slots.delete(this.#nextEmit++);
      if (next.kind === Slot.Single || (next.kind === Slot.Last && next.value !== Skip)) drop(next.value);
      else if (next.kind === Slot.Many)
        for (const v of next.value as readonly unknown[])
          if (!(v instanceof LastValue)) drop(v);
          else if (v.value !== Skip) drop(v.value);
    }
    this.#wakeRoom();
  }

  #wakeRoom(): void {
    while (this.#roomWaiters.length > 0 && this.#slots.size <= this.capacity) this.#roomWaiters.shift()!();
  }
}
