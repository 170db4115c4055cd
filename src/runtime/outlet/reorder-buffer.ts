import { LastValue } from "../../model/item/last.js";
import { Skip } from "../../model/item/skip.js";
import type { Outlet } from "./outlets.js";

/** What a completed call left in its slot. */
export const Slot = { Single: 0, Last: 1, Many: 2, Hole: 3 } as const;
export type SlotKind = (typeof Slot)[keyof typeof Slot];

/** A slot's outcome; `Many` (a batch) holds the values in `value` and their ids in `label`. */
interface Pending {
  readonly kind: SlotKind;
  readonly value: unknown;
  readonly label: unknown;
  readonly id: number;
}

const HOLE: Pending = { kind: Slot.Hole, value: undefined, label: undefined, id: 0 };

/** The worker that emits: hands values on, waiting (blocked) for room. */
export interface Emitter {
  sendTo(outlet: Outlet, value: unknown, label: unknown, id: number): undefined | Promise<void>;
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
 *
 * A `flatMap` call emits a stream, not a value: its worker waits for its {@link ReorderBuffer.turn}
 * (its sequence number is next and nobody emits), sends its children itself, then
 * {@link ReorderBuffer.endTurn}s — which completes its number and emits what waited behind it.
 */
export class ReorderBuffer {
  #nextTake = 0;
  #nextEmit = 0;
  #emitting = false;
  readonly #slots = new Map<number, Pending>();
  readonly #roomWaiters: (() => void)[] = [];
  /** `flatMap` calls waiting to emit their children, by sequence number. */
  readonly #turns = new Map<number, () => void>();
  /** The sequence number of the `flatMap` call that has the turn; -1: none. */
  #turnHolder = -1;

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
    id: number,
  ): undefined | Promise<void> {
    if (seq === this.#nextEmit && !this.#emitting) return this.#emitFrom(worker, kind, value, label, id);
    this.#slots.set(seq, { kind, value, label, id });
    if (this.#slots.size <= this.capacity) return undefined;
    return worker.waitBlocked(new Promise<void>((resolve) => this.#roomWaiters.push(resolve)));
  }

  /**
   * Resolves (`undefined` at once) when call `seq` may emit: every earlier output has left and
   * nobody else emits. The caller then emits itself and must call {@link endTurn}.
   */
  turn(worker: Emitter, seq: number): undefined | Promise<void> {
    if (seq === this.#nextEmit && !this.#emitting) {
      this.#emitting = true;
      this.#turnHolder = seq;
      return undefined;
    }
    return worker.waitBlocked(new Promise<void>((resolve) => this.#turns.set(seq, resolve)));
  }

  /** The call whose turn it was has emitted everything: what waited behind it goes now. */
  endTurn(worker: Emitter): undefined | Promise<void> {
    this.#turnHolder = -1;
    this.#nextEmit++;
    return this.#resume(worker);
  }

  #emitFrom(
    worker: Emitter,
    kind: SlotKind,
    value: unknown,
    label: unknown,
    id: number,
  ): undefined | Promise<void> {
    this.#emitting = true;
    for (;;) {
      this.#nextEmit++;
      const r = this.#emit(worker, kind, value, label, id);
      if (r !== undefined) return r.then(() => this.#resume(worker));
      const next = this.#slots.get(this.#nextEmit);
      if (next === undefined) break;
      this.#slots.delete(this.#nextEmit);
      this.#wakeRoom();
      ({ kind, value, label, id } = next);
    }
    this.#handOver();
    return undefined;
  }

  #resume(worker: Emitter): undefined | Promise<void> {
    const next = this.#slots.get(this.#nextEmit);
    if (next === undefined) {
      this.#handOver();
      return undefined;
    }
    this.#slots.delete(this.#nextEmit);
    this.#wakeRoom();
    return this.#emitFrom(worker, next.kind, next.value, next.label, next.id);
  }

  // Nothing more to emit now: the emitting turn passes to a `flatMap` call whose number is next,
  // if one waits for it; otherwise nobody emits.
  #handOver(): void {
    const turn = this.#turns.get(this.#nextEmit);
    if (turn === undefined) {
      this.#emitting = false;
      return;
    }
    this.#turns.delete(this.#nextEmit);
    this.#emitting = true;
    this.#turnHolder = this.#nextEmit;
    turn();
  }

  #emit(
    worker: Emitter,
    kind: SlotKind,
    value: unknown,
    label: unknown,
    id: number,
  ): undefined | Promise<void> {
    switch (kind) {
      case Slot.Hole:
        return undefined;
      case Slot.Single:
        return worker.sendTo(this.stage.outlet, value, label, id);
      case Slot.Last:
        return this.#last(worker, value, label, id);
      default:
        return this.#emitMany(worker, value as readonly unknown[], label as readonly number[], 0);
    }
  }

  // A batch's outputs, in order; a `Last` among them ends the stage's output after its value.
  #emitMany(
    worker: Emitter,
    values: readonly unknown[],
    ids: readonly number[],
    from: number,
  ): undefined | Promise<void> {
    for (let i = from; i < values.length; i++) {
      const v = values[i];
      const r =
        v instanceof LastValue
          ? this.#last(worker, v.value, v.value, ids[i]!)
          : worker.sendTo(this.stage.outlet, v, v, ids[i]!);
      if (r !== undefined) return r.then(() => this.#emitMany(worker, values, ids, i + 1));
    }
    return undefined;
  }

  // The stage's last output; `Last(Skip)` (its item skipped already) ends the output with nothing.
  #last(worker: Emitter, value: unknown, label: unknown, id: number): undefined | Promise<void> {
    const outlet = this.stage.takeOutletForLast();
    return value === Skip ? undefined : worker.sendTo(outlet, value, label, id);
  }

  /**
   * `stop()` gave up on the call that took `seq`: its slot becomes a hole. When the outputs
   * behind it were waiting for it alone, they are dropped with `drop` at once (the flow is
   * stopping: nothing goes downstream any more), so no item waits for a call that will not end.
   */
  abandon(seq: number, drop: (value: unknown, id: number) => void): void {
    if (seq !== this.#nextEmit || this.#emitting) {
      // A `flatMap` call given up while it had the turn: the turn ends with it.
      if (this.#emitting && this.#turnHolder === seq) {
        this.#turnHolder = -1;
      } else {
        this.#turns.delete(seq);
        this.#slots.set(seq, HOLE);
        return;
      }
    }
    this.#nextEmit++;
    for (
      let next = this.#slots.get(this.#nextEmit);
      next !== undefined;
      next = this.#slots.get(this.#nextEmit)
    ) {
      this.#slots.delete(this.#nextEmit++);
      if (next.kind === Slot.Single || (next.kind === Slot.Last && next.value !== Skip))
        drop(next.value, next.id);
      else if (next.kind === Slot.Many) {
        const ids = next.label as readonly number[];
        (next.value as readonly unknown[]).forEach((v, i) => {
          if (!(v instanceof LastValue)) drop(v, ids[i]!);
          else if (v.value !== Skip) drop(v.value, ids[i]!);
        });
      }
    }
    this.#handOver();
    this.#wakeRoom();
  }

  #wakeRoom(): void {
    while (this.#roomWaiters.length > 0 && this.#slots.size <= this.capacity) this.#roomWaiters.shift()!();
  }
}
