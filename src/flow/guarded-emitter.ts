import { EventEmitter } from "eventemitter3";
import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import { isThenable } from "../internal/is-thenable.js";

const ORIGINAL: unique symbol = Symbol("flowrhythm.listener");

type Listener = (this: unknown, arg?: unknown) => unknown;
type Guard = Listener & { readonly [ORIGINAL]: Listener };
type Events = EventEmitter.ValidEventTypes;
type Name<E extends Events> = EventEmitter.EventNames<E>;
type Fn<E extends Events, T extends Name<E>> = EventEmitter.EventListener<E, T>;

/**
 * An event emitter whose listeners cannot disturb the code that emits: every listener is
 * registered wrapped in a guard that catches what it throws, and what its promise rejects with,
 * and hands the error to {@link GuardedEmitter.listenerFailed}. The emitter's own code can then
 * emit anywhere — in the middle of a hand-off, before resolving `wait()` — knowing that `emit`
 * returns.
 *
 * `off`, `removeListener` and `listeners` speak in the user's functions, not the guards; a
 * function registered twice for one event shares one guard, as it would share one entry.
 */
export abstract class GuardedEmitter<E extends Events> extends EventEmitter<E> {
  readonly #guards = new Map<PropertyKey, WeakMap<Listener, Guard>>();

  /** `names`: the events there are; listening for another is a mistake worth an error. */
  constructor(private readonly names: readonly string[]) {
    super();
  }

  /** A listener of `event` threw, or its promise rejected. */
  protected abstract listenerFailed(event: Name<E>, error: unknown): void;

  override on<T extends Name<E>>(event: T, fn: Fn<E, T>, context?: unknown): this {
    return super.on(event, this.#guard(event, fn), context);
  }

  /** The same as `on`: adds a listener whose errors are reported, never thrown. */
  override addListener<T extends Name<E>>(event: T, fn: Fn<E, T>, context?: unknown): this {
    return super.addListener(event, this.#guard(event, fn), context);
  }

  override once<T extends Name<E>>(event: T, fn: Fn<E, T>, context?: unknown): this {
    return super.once(event, this.#guard(event, fn), context);
  }

  /** Removes a listener added with `on`, `addListener` or `once`. */
  override off<T extends Name<E>>(event: T, fn?: Fn<E, T>, context?: unknown, once?: boolean): this {
    return super.off(event, this.#guardOf(event, fn), context, once);
  }

  override removeListener<T extends Name<E>>(
    event: T,
    fn?: Fn<E, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    return super.removeListener(event, this.#guardOf(event, fn), context, once);
  }

  override listeners<T extends Name<E>>(event: T): Array<Fn<E, T>> {
    return super.listeners(event).map((g) => ((g as unknown as Guard)[ORIGINAL] ?? g) as Fn<E, T>);
  }

  #guardOf<T extends Name<E>>(event: T, fn: Fn<E, T> | undefined): Fn<E, T> | undefined {
    if (fn === undefined) return undefined;
    return (this.#guards.get(event)?.get(fn as unknown as Listener) as unknown as Fn<E, T>) ?? fn;
  }

  #guard<T extends Name<E>>(event: T, fn: Fn<E, T>): Fn<E, T> {
    if (typeof event !== "string" || !this.names.includes(event))
      throw new FlowConfigError(
        `on(event, listener): event = ${describeValue(event)}: expected one of ${this.names.map((n) => `"${n}"`).join(", ")}`,
        { option: "event" },
      );
    if (typeof fn !== "function")
      throw new FlowConfigError(
        `on("${event}", listener): listener = ${describeValue(fn)}: expected a function`,
        { option: "listener" },
      );
    const original = fn as unknown as Listener;
    let byFn = this.#guards.get(event);
    if (byFn === undefined) this.#guards.set(event, (byFn = new WeakMap()));
    let guard = byFn.get(original);
    if (guard === undefined) {
      const failed = (error: unknown): void => this.listenerFailed(event, error);
      // Every event of a flow has at most one argument.
      const g = function (this: unknown, arg?: unknown): void {
        try {
          const r = original.call(this, arg);
          if (isThenable(r)) r.then(undefined, failed);
        } catch (error) {
          failed(error);
        }
      };
      guard = Object.assign(g, { [ORIGINAL]: original }) as Guard;
      byFn.set(original, guard);
    }
    return guard as unknown as Fn<E, T>;
  }
}
