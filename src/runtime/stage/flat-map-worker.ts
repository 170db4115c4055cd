import { describeValue } from "../../internal/describe.js";
import { isThenable } from "../../internal/is-thenable.js";
import type { DropReason } from "../../model/events.js";
import { withDeadline } from "./attempts.js";
import { RateLimitedWorker } from "./rate-limited-worker.js";
import { NOTHING, WAIT } from "./stage-worker.js";
import { Envelope, Expansion } from "../outlet/join-record.js";
import { Entry } from "../../plan/stage-spec.js";
import { Skip } from "../../model/item/skip.js";
import { WorkerState } from "./worker-host.js";

type Children = Iterator<unknown> | AsyncIterator<unknown>;

const RESOLVED: Promise<void> = Promise.resolve();

/** No error: the expansion ended without one. */
const NONE: unique symbol = Symbol("none");

/** The iterator of what a `flatMap` call returned; a TypeError when it is not iterable. */
function childrenOf(out: unknown, stage: string): Children {
  const o = out as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null | undefined;
  let it: unknown;
  if (o != null && typeof o[Symbol.asyncIterator] === "function") it = o[Symbol.asyncIterator]!();
  else if (o != null && typeof o[Symbol.iterator] === "function" && typeof o !== "string")
    it = o[Symbol.iterator]!();
  else
    throw new TypeError(
      `flatMap stage "${stage}" returned ${describeValue(out)}; expected an iterable or an async iterable of the item's children`,
    );
  if (typeof (it as Partial<Children> | null)?.next !== "function")
    throw new TypeError(
      `flatMap stage "${stage}": the iterable's iterator method returned ${describeValue(it)}; expected an iterator (an object with next())`,
    );
  return it as Children;
}

/** Asks an iterator the flow gives up on to close, without waiting for it (it may never answer). */
function close(it: Children | null): void {
  try {
    const r = it?.return?.();
    if (isThenable(r)) Promise.resolve(r).catch(() => {});
  } catch {}
}

/** What a pull resolves with when the flow stopped while it waited. */
const STOPPED: unique symbol = Symbol("stopped");

/** `p`, or {@link STOPPED} as soon as `signal` aborts: a pull that never settles does not hold stop(). */
function untilStopped(p: PromiseLike<unknown>, signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(STOPPED);
  return new Promise((resolve, reject) => {
    const stop = (): void => resolve(STOPPED);
    signal.addEventListener("abort", stop, { once: true });
    p.then(
      (value) => {
        signal.removeEventListener("abort", stop);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", stop);
        reject(error);
      },
    );
  });
}

/**
 * A `flatMap` stage's worker: its call gives an iterator, and the worker pulls the children from
 * it one at a time, each with a new id, sending each downstream before pulling the next — so the
 * next stage's bounded queue is the only buffer, however many children an item has. The item
 * stays in hand until its iterator is done (an abandoned worker reports it dropped), then ends
 * `expanded`, or failed, or dropped when the flow stopped or was cut off half-way. A failure before
 * the first child is a failed attempt (retried as the policy says: nothing was sent twice); after
 * it, final. An iterator left before its end is closed (`return()`, not awaited).
 *
 * Under `ordered`, the worker first waits for its turn in the reorder buffer, so the children of
 * one item leave together and in order, before those of any later item (later calls wait behind
 * it, bounded by the buffer's capacity); it keeps the turn across retries of the item.
 */
export class FlatMapWorker extends RateLimitedWorker {
  /** The worker holds the reorder buffer's turn (ordered stages). */
  #turn = false;

  // The rate-limit check of `RateLimitedWorker.call`, only when the stage has a limit.
  protected override call(entry: unknown, id: number, stamp: number, timed: boolean): unknown {
    this.begin(stamp, timed);
    this.item = entry;
    this.ctx.id = id;
    if (this.stage.limiter !== null && this.mustWaitForToken()) return WAIT;
    return this.invoke(this.stage.entryKind === Entry.Plain ? entry : this.branchArg(entry));
  }

  // The attempt is read now: a retry loop that called this resets `ctx.attempt` once it returns.
  override handOn(out: unknown): undefined | Promise<void> {
    if (this.abandoned) return undefined;
    if (out === Skip) {
      // `fn` returned `Skip`: the item is skipped (its place in the order a hole, or its turn ended).
      const entry = this.item;
      this.item = NOTHING;
      this.booked(1);
      if (!this.#turn) return this.skip(entry, this.ctx.id);
      this.stage.skipped(entry, this.ctx.id);
      return this.#endTurn();
    }
    return this.#expand(this.item, this.ctx.id, out, this.ctx.attempt);
  }

  async #expand(entry: unknown, id: number, out: unknown, attempt: number): Promise<void> {
    const stage = this.stage;
    const run = stage.run;
    const reorder = stage.reorder;
    if (reorder !== null && !this.#turn) {
      const turn = reorder.turn(this, this.seq);
      if (turn !== undefined) await turn;
      this.#turn = true;
    }
    let n = 0;
    let error: unknown = NONE;
    let refused: DropReason | null = null;
    let it: Children | null = null;
    let done = false;
    // In a fan-out's branch: each child merges with the other branches' results for its parent.
    const env = entry instanceof Envelope ? entry : null;
    const root = env === null ? null : (env.record.base ?? env.record);
    try {
      it = childrenOf(out, stage.name);
      for (;;) {
        if (this.abandoned) break;
        if (run.stopping || stage.cut) {
          refused = run.refusalReason();
          break;
        }
        // Another branch already ended the item, or spoiled its children (those made so far take
        // that outcome; no more are made).
        if (env !== null && (env.record.settled || root!.expansion?.spoil)) break;
        let next: unknown = it.next();
        if (isThenable(next))
          next = await untilStopped(stage.timeoutMs > 0 ? withDeadline(this, next) : next, run.signal);
        if (this.abandoned) break;
        if (next === STOPPED) {
          refused = run.refusalReason();
          break;
        }
        const r = next as IteratorResult<unknown>;
        if (typeof r !== "object" || r === null)
          throw new TypeError(`the iterator's next() returned ${describeValue(r)}; expected { done, value }`);
        if (r.done) {
          done = true;
          break;
        }
        // Checked again: the pull may have waited (a child made for an ended item has no outcome).
        if (env !== null && (env.record.settled || root!.expansion?.spoil)) break;
        const child = run.newId();
        run.outcomes.childMade(id, child);
        stage.metrics.children++;
        n++;
        let value = r.value;
        if (env !== null) {
          root!.expansion ??= new Expansion();
          value = new Envelope(r.value, root!.child(r.value), env.index);
        }
        const sent = stage.outlet.send(value, child);
        if (sent === true) continue;
        stage.setState(this, WorkerState.Blocked);
        const accepted = await sent;
        stage.setState(this, WorkerState.Busy);
        if (!accepted) {
          refused = run.refusalReason();
          stage.drop(value, child, refused);
          break;
        }
      }
    } catch (thrown) {
      error = thrown;
    }
    if (!done) close(it);
    // Another branch ended the item before its first child: its outcome is reported already.
    const quiet = env !== null && n === 0 && env.record.settled;
    // Given up by stop(): the item was reported then, and its place in the order released.
    if (this.abandoned) return;
    if (quiet) {
      this.item = NOTHING;
      const r = this.#endTurn();
      if (r !== undefined) await r;
      return;
    }
    if (error !== NONE && n === 0) {
      // Nothing sent: a failed attempt like any other (retried, or failed for good, ending the turn).
      // After a turn of the microtask queue: a retry loop that called `handOn` resets `ctx.attempt`
      // as soon as it returns, and the attempt count must be set after that, not before.
      await RESOLVED;
      this.ctx.attempt = attempt;
      return this.fail(error);
    }
    this.item = NOTHING;
    this.booked(1);
    if (error !== NONE) {
      this.ctx.attempt = 1;
      const failure = new Error(`flatMap stage "${stage.name}": the iterator threw after ${n} children`, {
        cause: error,
      });
      await stage.failed(entry, id, failure, this.broken ? 0 : attempt, true);
    } else if (refused !== null) stage.drop(entry, id, refused, n > 0);
    else {
      // In a branch, an item expanded into nothing is done: later branch outcomes are discarded
      // (with children, they spoil the children instead).
      if (env !== null && n === 0) env.record.settled = true;
      stage.expanded(entry, id, n);
    }
    const r = this.#endTurn();
    if (r !== undefined) await r;
  }

  // Given up by stop() mid-expansion: the item is dropped as the expansion's own outcome (a
  // fan-out's other branches only spoil an item once it has children).
  protected override dropInHand(): boolean {
    const entry = this.item;
    this.item = NOTHING;
    if (entry === NOTHING) return false;
    this.stage.drop(entry, this.ctx.id, "STOPPED", true);
    return true;
  }

  override failFinal(error: unknown): Promise<void> {
    if (!this.#turn) return super.failFinal(error);
    const entry = this.item;
    this.item = NOTHING;
    const reported = this.stage.failed(entry, this.ctx.id, error, this.endAttempts());
    const r = this.#endTurn();
    return r === undefined ? reported : Promise.all([reported, r]).then(() => {});
  }

  #endTurn(): undefined | Promise<void> {
    if (!this.#turn) return undefined;
    this.#turn = false;
    return this.stage.reorder!.endTurn(this);
  }
}
