import type { Clock } from "../clock/clock.js";
import { isThenable } from "../internal/is-thenable.js";
import type { DeadLetter, DeadLetterSink, ErrorHandler, FlowErrorEvent } from "../model/events.js";

const RESOLVED: Promise<void> = Promise.resolve();
const noop = (): void => {};

/**
 * Hands a run's events to the user: error events to the error handler (or stderr), items that
 * failed for good to a dead-letter sink; and logs the flow's own faults, once per kind.
 *
 * The worker that hit an error awaits the handler (natural backpressure on a slow one), but
 * never longer than `timeoutMs` and never past `stopped`: a hung handler must hang neither the
 * stage nor the end of the flow. A handler that throws or rejects is logged and ignored.
 */
export class Reporter {
  readonly #pending = new Set<Promise<void>>();
  /** The calls still waited for: on stop they are given up at once (their timers cleared). */
  readonly #waits = new Set<() => void>();
  readonly #logged = new Set<string>();

  constructor(
    private readonly clock: Clock,
    private readonly handler: ErrorHandler | undefined,
    private readonly deadLetter: DeadLetterSink | undefined,
    private readonly timeoutMs: number,
    /** Settles when the flow is stopped. */
    stopped: Promise<void>,
  ) {
    void stopped.then(() => {
      for (const giveUp of [...this.#waits]) giveUp();
    });
  }

  /** Gives `event` to the error handler; resolves when it is done (see the class comment). */
  deliver(event: FlowErrorEvent): Promise<void> {
    const handler = this.handler;
    if (handler) return this.#call(handler, event, "error handler");
    if (event.type !== "Dropped") {
      const where =
        event.type === "TransformerError"
          ? ` in stage "${event.stage}"`
          : event.type === "ListenerError"
            ? ` in a "${event.event}" listener`
            : "";
      console.error(`[flowrhythm] ${event.type}${where}:`, event.error);
    }
    return RESOLVED;
  }

  /** Reports a final failure to the handler and files it with `sink` (else the flow's sink). */
  failed(event: FlowErrorEvent, letter: () => DeadLetter, sink: DeadLetterSink | null): Promise<void> {
    const reported = this.deliver(event);
    const to = sink ?? this.deadLetter;
    if (to === undefined) return reported;
    const filed = this.#call(to, letter(), "dead-letter sink");
    if (filed === RESOLVED) return reported;
    return reported === RESOLVED ? filed : Promise.all([reported, filed]).then(noop);
  }

  /** Resolves once every handler call in progress has settled or timed out. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Logs `message` the first time `key` is seen. */
  logOnce(key: string, message: string, error?: unknown): void {
    if (this.#logged.has(key)) return;
    this.#logged.add(key);
    if (error === undefined) console.error(message);
    else console.error(message, error);
  }

  #call<E>(fn: (event: E) => unknown, event: E, what: string): Promise<void> {
    let result: unknown;
    try {
      result = fn(event);
    } catch (error) {
      console.error(`[flowrhythm] the ${what} threw; ignored:`, error);
      return RESOLVED;
    }
    if (!isThenable(result)) return RESOLVED;
    const ms = this.timeoutMs;
    const bounded = new Promise<void>((resolve) => {
      let open = true;
      const done = (): void => {
        if (!open) return;
        open = false;
        this.clock.clearTimeout(timer);
        this.#waits.delete(done);
        resolve();
      };
      const timer = this.clock.setTimeout(() => {
        this.logOnce(
          `${what}:timeout`,
          `[flowrhythm] the ${what} did not settle within ${ms} ms; the flow goes on without waiting for it`,
        );
        done();
      }, ms);
      this.#waits.add(done);
      result.then(done, (error: unknown) => {
        if (open) console.error(`[flowrhythm] the ${what} rejected; ignored:`, error);
        done();
      });
    });
    const tracked: Promise<void> = bounded.then(() => {
      this.#pending.delete(tracked);
    });
    this.#pending.add(tracked);
    return tracked;
  }
}
