import { Deferred } from "../../internal/deferred.js";

/**
 * A worker's `ctx.signal`. Without `timeoutMs` it is the flow's own signal (aborted by `stop()`);
 * with it, the worker's own, aborted when the flow stops and when a call's deadline passes (then
 * replaced for the next call). Either way a listener that user code leaves on it per item piles
 * up where Node's leak warning sees it: the flow's signal allows only as many listeners as its
 * workers can legitimately add (see FlowRuntime), a worker's own the default ten.
 *
 * It also counts the calls a timeout left running ("late" calls): the worker's resource is
 * closed only after they settle (within the close deadline). A count, not a set of promises: a
 * call that never settles must not keep anything of ours alive per item.
 */
export class CallSignal {
  #controller: AbortController | null = null;
  #late = 0;
  #lateSettled: Deferred<void> | null = null;

  /** `own`: the worker gets its own signal (its stage has `timeoutMs`). */
  constructor(
    private readonly flowSignal: AbortSignal,
    own: boolean,
  ) {
    if (!own) return;
    this.#controller = new AbortController();
    if (flowSignal.aborted) this.#controller.abort(flowSignal.reason);
    else flowSignal.addEventListener("abort", this.#onFlowAbort);
  }

  get signal(): AbortSignal {
    return this.#controller === null ? this.flowSignal : this.#controller.signal;
  }

  /** The worker has exited: the flow's signal no longer needs to reach it. */
  unlink(): void {
    this.flowSignal.removeEventListener("abort", this.#onFlowAbort);
  }

  /** A call's deadline passed: aborts its signal, starts a fresh one, and counts the call as late. */
  timedOut(reason: unknown, call: PromiseLike<unknown>): void {
    this.#controller!.abort(reason);
    this.#controller = new AbortController();
    if (this.flowSignal.aborted) this.#controller.abort(this.flowSignal.reason);
    this.#late++;
    call.then(this.#settleLate, this.#settleLate);
  }

  /** Whether a call a timeout left running has not settled yet. */
  get hasLate(): boolean {
    return this.#late > 0;
  }

  /** Resolves once every late call has settled. */
  lateSettled(): Promise<void> {
    if (this.#late === 0) return Promise.resolve();
    this.#lateSettled ??= new Deferred<void>();
    return this.#lateSettled.promise;
  }

  readonly #settleLate = (): void => {
    if (--this.#late === 0 && this.#lateSettled !== null) {
      this.#lateSettled.resolve();
      this.#lateSettled = null;
    }
  };

  readonly #onFlowAbort = (): void => {
    this.#controller?.abort(this.flowSignal.reason);
  };
}
