/** The real one, even under fake timers: a turn of the event loop is what fairness is about. */
const realSetImmediate = globalThis.setImmediate;

/**
 * Gives the event loop a turn to loops that have kept it too long: each parks here, and one
 * macrotask for everyone resumes them all (after `onTurn`, which moves the flow's deadline on).
 */
export class Turns {
  #turn: Promise<void> | null = null;
  #scheduled = false;
  /** Loops waiting for the event loop's turn. */
  readonly #parked: { resume(): void }[] = [];

  constructor(private readonly onTurn: () => void) {}

  /** Resolves after the event loop has had a turn; one turn shared by every loop. */
  turn(): Promise<void> {
    this.#turn ??= new Promise<void>((resolve) => this.#parked.push({ resume: resolve }));
    this.#schedule();
    return this.#turn;
  }

  /** `taker.resume()` after the event loop has had a turn (the same turn as {@link Turns.turn}). */
  park(taker: { resume(): void }): void {
    this.#parked.push(taker);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    realSetImmediate(() => {
      this.#scheduled = false;
      this.#turn = null;
      this.onTurn();
      for (const taker of this.#parked.splice(0)) taker.resume();
    });
  }
}
