import { constants } from "node:os";
import type { FlowEnd } from "../stats/stage-stats.js";

/** What signal handling drives: one run of a flow. */
export interface Drainable {
  drain(timeoutMs: undefined, cause: FlowEnd): Promise<void>;
  stop(cause: FlowEnd): Promise<void>;
  /** Settles when the run is over. */
  readonly finished: Promise<void>;
}

interface Entry {
  readonly exit: boolean;
  done: boolean;
}

type HandledSignal = "SIGINT" | "SIGTERM";

/**
 * The process's signal handling, shared by every flow with `handleSignals` — even across two
 * copies of flowrhythm loaded in one process (it lives on `globalThis`).
 *
 * The first SIGINT or SIGTERM drains every registered run, a second stops them all. The process
 * exits only once every one of them is over — with code 0 after a drain, 128 + the last signal's
 * number after a stop — and only if at least one asked to exit. Runs registered after a signal
 * are drained at once: the process is shutting down. While no signal came, a run leaves the hub
 * when it ends, and the hub gives the signals back to Node's defaults when no run is left.
 */
class SignalHub {
  readonly #runs = new Map<Drainable, Entry>();
  #received = 0;
  #signal: HandledSignal | null = null;
  #code = 0;
  #listening = false;

  readonly #onSignal = (signal: HandledSignal): void => {
    this.#received++;
    if (this.#received === 1) {
      this.#signal = signal;
      for (const run of this.#runs.keys()) void run.drain(undefined, signal);
    } else {
      this.#code = 128 + (constants.signals[signal] ?? 0);
      for (const run of this.#runs.keys()) void run.stop(this.#signal ?? signal);
    }
    this.#exitIfDone();
  };

  add(run: Drainable, exit: boolean): void {
    if (this.#runs.has(run)) return;
    const entry: Entry = { exit, done: false };
    this.#runs.set(run, entry);
    if (!this.#listening) {
      this.#listening = true;
      process.on("SIGINT", this.#onSignal);
      process.on("SIGTERM", this.#onSignal);
    }
    if (this.#received > 0) void run.drain(undefined, this.#signal!);
    if (this.#received > 1) void run.stop(this.#signal!);
    void run.finished.then(() => {
      entry.done = true;
      if (this.#received > 0) this.#exitIfDone();
      else {
        this.#runs.delete(run);
        if (this.#runs.size === 0) this.#unlisten();
      }
    });
  }

  #exitIfDone(): void {
    let exit = false;
    for (const entry of this.#runs.values()) {
      if (!entry.done) return;
      exit ||= entry.exit;
    }
    if (exit) process.exit(this.#code);
    // Nobody asked to exit: the process goes on, and so may its signals.
    this.#runs.clear();
    this.#received = 0;
    this.#signal = null;
    this.#code = 0;
    this.#unlisten();
  }

  #unlisten(): void {
    if (!this.#listening) return;
    this.#listening = false;
    process.off("SIGINT", this.#onSignal);
    process.off("SIGTERM", this.#onSignal);
  }
}

const HUB = Symbol.for("flowrhythm.signalHub");

/** The process's one {@link SignalHub}. */
function hub(): SignalHub {
  const g = globalThis as { [HUB]?: SignalHub };
  g[HUB] ??= new SignalHub();
  return g[HUB];
}

/**
 * SIGINT and SIGTERM drain `run` (and every other run that handles signals), a second signal
 * stops them; with `exit`, the process exits once every such run is over.
 */
export function listenForSignals(run: Drainable, exit: boolean): void {
  hub().add(run, exit);
}
