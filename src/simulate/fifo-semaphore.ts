import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";

/**
 * A dependency with `slots` concurrent calls, served first come first served: what a database
 * pool or a rate-limited API looks like from a stage. Past `slots`, callers queue and the time
 * they wait is part of their processing time.
 */
export class FifoSemaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  #head = 0;

  constructor(
    /** Calls served at once. */
    readonly slots: number,
  ) {
    if (!Number.isSafeInteger(slots) || slots < 1)
      throw new FlowConfigError(
        `FifoSemaphore: slots = ${describeValue(slots)}: expected a whole number ≥ 1`,
        {
          option: "slots",
        },
      );
    this.#free = slots;
  }

  /** Resolves when a slot is the caller's. */
  acquire(): Promise<void> | undefined {
    if (this.#free > 0) {
      this.#free--;
      return undefined;
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Gives a slot back: the longest-waiting caller gets it. */
  release(): void {
    const waiting = this.#waiting;
    if (this.#head < waiting.length) {
      const next = waiting[this.#head]!;
      waiting[this.#head++] = undefined as unknown as () => void;
      if (this.#head > 1024 && this.#head * 2 > waiting.length) {
        waiting.splice(0, this.#head);
        this.#head = 0;
      }
      next();
    } else this.#free++;
  }
}
