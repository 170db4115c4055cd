import { isThenable } from "../../internal/is-thenable.js";
import { MAX_TIMER_MS } from "../../internal/option-fields.js";
import { retryDelay } from "../../model/retry.js";
import type { CallSignal } from "./call-signal.js";
import { type WorkerHost, WorkerState } from "./worker-host.js";

/** What a call returns in place of a result when it threw (the error is kept beside it). */
export const FAILED: unique symbol = Symbol("failed");

/** What the attempt runner needs of the worker whose item it retries or times. */
export interface AttemptOwner {
  readonly stage: WorkerHost;
  readonly ctx: { attempt: number; signal: AbortSignal };
  state: WorkerState;
  /** Set when `stop()` gave up on the worker: nothing it does is reported any more. */
  readonly abandoned: boolean;
  /** Set when the stage's factory never worked: no call was made, nothing answered. */
  readonly broken: boolean;
  /** Behind `ctx.signal`; counts the calls a timeout left running. */
  readonly calls: CallSignal | null;
  /** The timing start of the call in hand (-1: not timed). */
  t0: number;
  /** What the function was called with for the item in hand. */
  argInHand(): unknown;
  /** The id of the item in hand (a batch's: the ids of its items). */
  idsInHand(): number | readonly number[];
  /** Calls the stage's function; its result, or {@link FAILED} with {@link AttemptOwner.takeError} set. */
  invoke(arg: unknown): unknown;
  /** The error of the last `invoke` that returned `failed`, cleared. */
  takeError(): unknown;
  handOn(out: unknown): undefined | Promise<void>;
  failFinal(error: unknown): Promise<void>;
}

/** Counts a failed attempt whose error the stage's `overloadOn` recognises. */
export function noteOverload(owner: AttemptOwner, error: unknown): void {
  const stage = owner.stage;
  // A stage whose factory never worked made no call: nothing behind it answered.
  if (owner.broken) return;
  let overloaded: boolean;
  try {
    overloaded = stage.overloadOn(error) === true;
  } catch (thrown) {
    stage.run.workerFault(stage.name, "overloadOn threw (the error is treated as no overload)", thrown);
    return;
  }
  if (!overloaded) return;
  const metrics = stage.metrics;
  metrics.overloads++;
  metrics.lastOverloadAt = stage.run.cache.read();
}

/** Whether the item in hand gets another attempt after `error`. */
export function worthRetry(owner: AttemptOwner, error: unknown): boolean {
  const stage = owner.stage;
  const policy = stage.retry;
  if (policy === null || owner.broken || stage.run.stopping || owner.ctx.attempt >= policy.attempts)
    return false;
  try {
    return policy.retryOn(error, owner.argInHand()) === true;
  } catch (thrown) {
    stage.run.workerFault(stage.name, "retryOn threw (the error is treated as final)", thrown);
    return false;
  }
}

/**
 * Waits out the backoff (counted as retrying, not busy) and calls again, until an attempt
 * succeeds, the policy gives up, or the flow stops (the item is then dropped as STOPPED).
 */
export async function retryItem(owner: AttemptOwner, error: unknown): Promise<void> {
  const stage = owner.stage;
  const ctx = owner.ctx;
  owner.t0 = -1; // a retried call's latency would count the backoff: not timed
  for (;;) {
    stage.metrics.retries++;
    const delay = retryDelay(stage.retry!, ctx.attempt, stage.run.random(stage.name), error);
    stage.run.outcomes.itemRetrying(
      stage.name,
      owner.argInHand(),
      owner.idsInHand(),
      ctx.attempt,
      error,
      delay,
    );
    stage.setState(owner, WorkerState.Retrying);
    let woke = await stage.run.sleep(delay);
    // The token is taken in the same synchronous step as the call below.
    while (woke && stage.limiter !== null) {
      const wait = stage.limiter.take(stage.run.cache.read());
      if (wait === 0) break;
      woke = await waitForToken(owner, wait);
    }
    stage.setState(owner, WorkerState.Busy);
    if (!woke) return owner.failFinal(error);
    ctx.attempt++;
    let out = owner.invoke(owner.argInHand());
    if (out === FAILED) {
      error = owner.takeError();
    } else {
      try {
        if (isThenable(out)) out = await (stage.timeoutMs > 0 ? withDeadline(owner, out) : out);
        if (owner.abandoned) return;
        const pending = owner.handOn(out);
        ctx.attempt = 1;
        return pending;
      } catch (e) {
        error = e;
      }
    }
    if (owner.abandoned) return;
    noteOverload(owner, error);
    if (!worthRetry(owner, error)) return owner.failFinal(error);
  }
}

/** Waits `ms` for a retry's token, counted as rate-limited; false if the flow stopped. */
async function waitForToken(owner: AttemptOwner, ms: number): Promise<boolean> {
  const stage = owner.stage;
  const limiter = stage.limiter!;
  stage.setState(owner, WorkerState.RateLimited);
  limiter.waiting++;
  const woke = await stage.run.sleep(Math.min(ms, MAX_TIMER_MS));
  limiter.waiting--;
  return woke;
}

/**
 * The call's promise, or a TimeoutError once `timeoutMs` passes: then `ctx.signal` aborts and the
 * worker goes on; the call, left running, is waited for (within the close deadline) before the
 * worker's resource closes.
 */
export function withDeadline(owner: AttemptOwner, call: PromiseLike<unknown>): Promise<unknown> {
  const stage = owner.stage;
  const clock = stage.run.clock;
  const ms = stage.timeoutMs;
  return new Promise((resolve, reject) => {
    let open = true;
    const timer = clock.setTimeout(() => {
      if (!open) return;
      open = false;
      const error = new DOMException(
        `stage "${stage.name}": attempt ${owner.ctx.attempt} timed out after ${ms} ms`,
        "TimeoutError",
      );
      const calls = owner.calls!;
      calls.timedOut(error, call);
      owner.ctx.signal = calls.signal;
      reject(error);
    }, ms);
    call.then(
      (value) => {
        if (!open) return;
        open = false;
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (!open) return;
        open = false;
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}
