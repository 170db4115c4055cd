import type { Clock, TimeCache } from "../clock/clock.js";
import { sizeOf } from "../internal/size-of.js";
import { describeValue } from "../internal/describe.js";
import { isThenable } from "../internal/is-thenable.js";
import { TIMED_OUT, within } from "../clock/within.js";
import { FAIR_SHARE_ITEMS } from "./fair-share.js";
import type { Outlet } from "./outlet/outlets.js";
import type { Stage } from "./stage/stage.js";
import type { Source } from "../model/types.js";
import type { Lineage } from "./lineage.js";

/** An iterator's result, checked: a hand-written `next()` that returns no object is a source error. */
function checked<T>(result: IteratorResult<T>): IteratorResult<T> {
  if (typeof result !== "object" || result === null)
    throw new TypeError(`the source's next() returned ${describeValue(result)}; expected { done, value }`);
  return result;
}

/** What the pump reports to the flow. */
export interface PumpHost {
  /** Set by `drain()`, `stop()` and a `Last`: take no more items. */
  readonly halted: boolean;
  readonly cache: TimeCache;
  readonly clock: Clock;
  /** How long the source's `return()` may take when the flow halts it. */
  readonly closeTimeoutMs: number;
  /** See `StageRun.yieldAt` and `StageRun.turn`. */
  readonly yieldAt: number;
  turn(): Promise<void>;
  /** An item enters: counted in `itemsIn`, and given its id. */
  admit(): number;
  /** How many items the source will give, when known; the pump fills it in from the source's size. */
  total: number | null;
  /** Who waits for an acknowledged item's outcome. */
  readonly outcomes: { readonly lineage: Lineage };
  sourceFailed(error: unknown): void;
  /** The producer is done feeding the flow (ended, failed, or halted). */
  inputDone(): void;
  refusalReason(): "STOPPED" | "UPSTREAM_TERMINATED";
}

/**
 * Moves items from the producer into the flow's entry (the first stage's queue, a router's, or a
 * fan-out's branches), waiting while it is full.
 *
 * An item counts as entered once the pump has it from the source, and then has exactly one
 * outcome. `drain()` lets a `next()` in progress finish and runs the item it yields (a
 * `drain({ timeoutMs })` bounds that wait, by stopping). `stop()` and a `Last` do not wait on a
 * producer stalled inside `next()`: the pump is abandoned (the flow's input closes at once) and
 * the source is asked to `return()`; an item it yields afterwards is still counted and reported
 * as `Dropped` (`STOPPED` or `UPSTREAM_TERMINATED`), never silently lost.
 */
export class ProducerPump<T> {
  #iterator: Iterator<T> | AsyncIterator<T> | null = null;
  #pendingNext = false;
  #abandoned = false;
  #closed = false;
  /** The producer function's `ctx.signal`: aborts when the flow stops taking input. */
  readonly #halt = new AbortController();

  constructor(
    private readonly source: Source<T>,
    private readonly entry: Outlet,
    /** Named in the drop of an item the entry refused. */
    private readonly owner: Stage,
    private readonly host: PumpHost,
  ) {}

  /** Whether the pump is waiting inside the source's `next()`. */
  get pendingNext(): boolean {
    return this.#pendingNext;
  }

  async run(): Promise<void> {
    const host = this.host;
    const entry = this.entry;
    let iterator: Iterator<T> | AsyncIterator<T>;
    let isAsync: boolean;
    try {
      const src = (
        typeof this.source === "function" ? this.source({ signal: this.#halt.signal }) : this.source
      ) as unknown;
      const s = src as Partial<AsyncIterable<T> & Iterable<T>> | null | undefined;
      if (host.total === null) host.total = sizeOf(src);
      if (s != null && typeof s[Symbol.asyncIterator] === "function") {
        iterator = s[Symbol.asyncIterator]!();
        isAsync = true;
      } else if (s != null && typeof s[Symbol.iterator] === "function") {
        iterator = s[Symbol.iterator]!();
        isAsync = false;
      } else {
        throw new TypeError(`producer gave ${describeValue(src)}; expected an iterable or an async iterable`);
      }
    } catch (error) {
      host.sourceFailed(error);
      this.#closeInput();
      return;
    }
    this.#iterator = iterator;
    let finished = false;
    // Items since the event loop last had a turn (a source whose items never wait would keep it
    // forever): a turn every FAIR_SHARE_ITEMS items, or once the flow's deadline has passed.
    let sinceTurn = 0;
    for (;;) {
      if (host.halted || this.#abandoned) break;
      if (++sinceTurn >= FAIR_SHARE_ITEMS || ((sinceTurn & 63) === 0 && host.cache.read() >= host.yieldAt)) {
        sinceTurn = 0;
        await host.turn();
        if (host.halted || this.#abandoned) break;
      }
      let result: IteratorResult<T>;
      try {
        if (isAsync) {
          this.#pendingNext = true;
          result = checked(await iterator.next());
          this.#pendingNext = false;
          if (this.#abandoned) {
            this.#late(result);
            return;
          }
        } else result = checked((iterator as Iterator<T>).next());
      } catch (error) {
        this.#pendingNext = false;
        // Abandoned: the source failing now is the source stopping because the flow did.
        if (this.#abandoned) return;
        // A source that honours its signal may end a drain by rejecting with its reason: an end.
        if (!this.#haltedBy(error)) host.sourceFailed(error);
        finished = true;
        break;
      }
      if (result.done) {
        finished = true;
        break;
      }
      const id = host.admit();
      const item = host.outcomes.lineage.admit(id, result.value);
      const sent = entry.send(item, id);
      if (sent !== true && !(await sent)) this.owner.drop(item, id, host.refusalReason());
    }
    if (!finished && !this.#abandoned) {
      // Halted while the source was suspended at a yield: its `finally` runs now, within the
      // close deadline (a `return()` that never settles must not hold the drain).
      try {
        const r = iterator.return?.();
        if (isThenable(r) && (await within(host.clock, r, host.closeTimeoutMs)) === TIMED_OUT)
          host.sourceFailed(
            new Error(
              `the source's return() did not settle within closeTimeoutMs (${host.closeTimeoutMs} ms)`,
            ),
          );
      } catch (error) {
        host.sourceFailed(error);
      }
    }
    this.#closeInput();
  }

  // What an abandoned `next()` yielded: entered, and dropped for the reason the flow halted.
  #late(result: IteratorResult<T>): void {
    if (result.done) return;
    const id = this.host.admit();
    const item = this.host.outcomes.lineage.admit(id, result.value);
    this.owner.drop(item, id, this.host.refusalReason());
  }

  // Whether `error` is the source stopping because the flow told it to (its signal's reason).
  #haltedBy(error: unknown): boolean {
    const signal = this.#halt.signal;
    return (
      signal.aborted &&
      (error === signal.reason || (error as { name?: unknown } | null)?.name === "AbortError")
    );
  }

  /** The flow takes no more input: tells the source, through its signal. */
  halt(): void {
    this.#halt.abort(new DOMException("the flow takes no more input", "AbortError"));
  }

  /** Gives up on a `next()` in progress: closes the flow's input and the source. */
  abandon(): void {
    if (this.#abandoned) return;
    this.#abandoned = true;
    this.#closeInput();
    const it = this.#iterator;
    if (it && typeof it.return === "function") {
      try {
        Promise.resolve(it.return()).catch(() => {});
      } catch {}
    }
  }

  #closeInput(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.host.inputDone();
  }
}
