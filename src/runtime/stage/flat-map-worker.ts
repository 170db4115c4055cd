import { describeValue } from "../../internal/describe.js";
import { isThenable } from "../../internal/is-thenable.js";
import type { DropReason } from "../../model/events.js";
import { withDeadline } from "./attempts.js";
import { RateLimitedWorker } from "./rate-limited-worker.js";
import { NOTHING, WAIT } from "./stage-worker.js";
import { WorkerState } from "./worker-host.js";

type Children = Iterator<unknown> | AsyncIterator<unknown>;

/** No error: the expansion ended without one. */
const NONE: unique symbol = Symbol("none");

/** The iterator of what a `flatMap` call returned; a TypeError when it is not iterable. */
function childrenOf(out: unknown, stage: string): Children {
  const o = out as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null | undefined;
  if (o != null && typeof o[Symbol.asyncIterator] === "function") return o[Symbol.asyncIterator]!();
  if (o != null && typeof o[Symbol.iterator] === "function" && typeof o !== "string")
    return o[Symbol.iterator]!();
  throw new TypeError(
    `flatMap stage "${stage}" returned ${describeValue(out)}; expected an iterable or an async iterable of the item's children`,
  );
}

/** Asks an iterator the flow gives up on to close, without waiting for it (it may never answer). */
function close(it: Children | null): void {
  try {
    const r = it?.return?.();
    if (isThenable(r)) Promise.resolve(r).catch(() => {});
  } catch {}
}

/**
 * A `flatMap` stage's worker: its call gives an iterator, and the worker pulls the children from
 * it one at a time, each with a new id, sending each downstream before pulling the next — so the
 * next stage's bounded queue is the only buffer, however many children an item has. The item
 * stays in hand until its iterator is done (an abandoned worker reports it dropped), then ends
 * `expanded`, or failed, or dropped when the flow stopped or was cut off half-way.
 *
 * Under `ordered`, the worker first waits for its turn in the reorder buffer, so the children of
 * one item leave together and in order, before those of any later item (later calls wait behind
 * it, bounded by the buffer's capacity).
 */
export class FlatMapWorker extends RateLimitedWorker {
  // The rate-limit check of `RateLimitedWorker.call`, only when the stage has a limit.
  protected override call(entry: unknown, id: number, stamp: number, timed: boolean): unknown {
    this.begin(stamp, timed);
    this.item = entry;
    this.ctx.id = id;
    if (this.stage.limiter !== null && this.mustWaitForToken()) return WAIT;
    return this.invoke(entry);
  }

  override handOn(out: unknown): undefined | Promise<void> {
    if (this.abandoned) return undefined;
    return this.#expand(this.item, this.ctx.id, out);
  }

  async #expand(entry: unknown, id: number, out: unknown): Promise<void> {
    const stage = this.stage;
    const run = stage.run;
    const reorder = stage.reorder;
    if (reorder !== null) {
      const turn = reorder.turn(this, this.seq);
      if (turn !== undefined) await turn;
    }
    let n = 0;
    let error: unknown = NONE;
    let refused: DropReason | null = null;
    let it: Children | null = null;
    try {
      it = childrenOf(out, stage.name);
      for (;;) {
        if (this.abandoned) break;
        if (run.stopping || stage.cut) {
          refused = run.refusalReason();
          break;
        }
        let next: unknown = it.next();
        if (isThenable(next)) next = await (stage.timeoutMs > 0 ? withDeadline(this, next) : next);
        if (this.abandoned) break;
        const r = next as IteratorResult<unknown>;
        if (typeof r !== "object" || r === null)
          throw new TypeError(`the iterator's next() returned ${describeValue(r)}; expected { done, value }`);
        if (r.done) break;
        const child = run.newId();
        run.outcomes.lineage.child(id, child);
        stage.metrics.children++;
        n++;
        const sent = stage.outlet.send(r.value, child);
        if (sent === true) continue;
        stage.setState(this, WorkerState.Blocked);
        const accepted = await sent;
        stage.setState(this, WorkerState.Busy);
        if (!accepted) {
          refused = run.refusalReason();
          stage.drop(r.value, child, refused);
          break;
        }
      }
    } catch (thrown) {
      error = thrown;
    }
    if (error === NONE && (refused !== null || this.abandoned)) close(it);
    // Given up by stop(): the item was reported then, and its place in the order released.
    if (this.abandoned) return;
    this.item = NOTHING;
    this.booked(1);
    if (error !== NONE) {
      const failure =
        n === 0
          ? error
          : new Error(`flatMap stage "${stage.name}": the iterator threw after ${n} children`, {
              cause: error,
            });
      await stage.failed(entry, id, failure, this.endAttempts());
    } else if (refused !== null) stage.drop(entry, id, refused);
    else stage.expanded(entry, id, n);
    if (reorder !== null) {
      const r = reorder.endTurn(this);
      if (r !== undefined) await r;
    }
  }
}
