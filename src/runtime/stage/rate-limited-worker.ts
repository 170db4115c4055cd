import { MAX_TIMER_MS } from "../../internal/option-fields.js";
import { Entry } from "../../plan/stage-spec.js";
import { FAILED } from "./attempts.js";
import { StageWorker, WAIT } from "./stage-worker.js";
import { WorkerState } from "./worker-host.js";

/**
 * A worker of a stage with a `rateLimit`: each call takes a token first, or waits for one counted
 * as rate-limited (holding its item, never busy). Stages without a limit run plain `StageWorker`s: a
 * check for a limiter on every call measured ~0.7 % of the per-item cost of every stage.
 */
export class RateLimitedWorker extends StageWorker {
  /** Waiting for a token for the item in hand (the wait ends with `resume()`). */
  protected limited = false;
  /** The flow stopped while the worker waited for its token. */
  #stopped = false;

  protected override call(entry: unknown, id: number, stamp: number, timed: boolean): unknown {
    const stage = this.stage;
    this.begin(stamp, timed);
    this.item = entry;
    this.ctx.id = id;
    if (this.mustWaitForToken()) return WAIT;
    return this.invoke(stage.entryKind === Entry.Plain ? entry : this.branchArg(entry));
  }

  protected override resumed(): unknown {
    return this.limited ? this.callWithToken() : super.resumed();
  }

  /**
   * Takes a `rateLimit` token for the call about to be made; when there is none, waits for one
   * counted as rate-limited and returns true (the loop then waits, and {@link callWithToken}
   * makes the call). Only stages with a rate limit come here.
   */
  protected mustWaitForToken(): boolean {
    const stage = this.stage;
    const wait = stage.limiter!.take(stage.run.cache.read());
    if (wait === 0) return false;
    this.limited = true;
    stage.setState(this, WorkerState.RateLimited);
    this.#sleep(wait);
    return true;
  }

  // Cut at the longest timer Node keeps: the token is asked for again on waking in any case.
  #sleep(ms: number): void {
    this.stage.limiter!.waiting++;
    void this.stage.run.sleep(Math.min(ms, MAX_TIMER_MS)).then(this.#due);
  }

  readonly #due = (woke: boolean): void => {
    this.stage.limiter!.waiting--;
    if (!woke) this.#stopped = true;
    this.resume();
  };

  /**
   * Woken for a token (or because the flow stopped): takes it and calls the function on the item
   * in hand, in the same synchronous step (so that no call starts on a token taken earlier), or
   * waits again when another worker took it first.
   */
  protected callWithToken(): unknown {
    const stage = this.stage;
    if (this.#stopped) {
      // Failed while the flow stops: the item is reported dropped, STOPPED.
      this.limited = false;
      this.#stopped = false;
      stage.setState(this, WorkerState.Busy);
      this.error = stage.run.signal.reason;
      return FAILED;
    }
    const wait = stage.limiter!.take(stage.run.cache.read());
    if (wait > 0) {
      this.#sleep(wait);
      return WAIT;
    }
    this.limited = false;
    stage.setState(this, WorkerState.Busy);
    // The wait for the token is no processing time: a timed call starts now.
    if (this.t0 >= 0) this.t0 = stage.run.cache.read();
    return this.invoke(this.argInHand());
  }
}
