/**
 * Many callbacks behind one listener per target: a target (a stream's 'error') gets a single
 * listener however many callers watch it, so many reporters never trip Node's
 * MaxListenersExceededWarning. `attach` adds the one listener when a target gets its first
 * callback; `detach` takes it off when the last one leaves.
 */
export class SharedListener<T extends object> {
  readonly #byTarget = new WeakMap<T, { readonly all: Set<() => void>; readonly fire: () => void }>();

  constructor(
    private readonly attach: (target: T, fire: () => void) => void,
    private readonly detach: (target: T, fire: () => void) => void,
  ) {}

  /** Calls `fn` when `target`'s event comes (after the callbacks added before it). */
  add(target: T, fn: () => void): void {
    let entry = this.#byTarget.get(target);
    if (entry === undefined) {
      const all = new Set<() => void>();
      entry = {
        all,
        fire: () => {
          for (const f of [...all]) f();
        },
      };
      this.#byTarget.set(target, entry);
      this.attach(target, entry.fire);
    }
    entry.all.add(fn);
  }

  /** Stops calling `fn` for `target`; the last one to leave takes the listener off. */
  delete(target: T, fn: () => void): void {
    const entry = this.#byTarget.get(target);
    if (entry === undefined || !entry.all.delete(fn) || entry.all.size > 0) return;
    this.#byTarget.delete(target);
    this.detach(target, entry.fire);
  }
}

/**
 * Calls `act` once `signal` aborts — at once if it has already — and returns what takes the
 * listener off (a caller's signal may outlive many runs, so none stays behind).
 */
export function whenAborted(signal: AbortSignal | undefined, act: () => void): () => void {
  if (signal === undefined) return () => {};
  if (signal.aborted) {
    act();
    return () => {};
  }
  signal.addEventListener("abort", act, { once: true });
  return () => signal.removeEventListener("abort", act);
}
