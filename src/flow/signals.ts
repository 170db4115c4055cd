import { constants } from "node:os";

/** What signal handling drives: one run of a flow. */
export interface Drainable {
  drain(): Promise<void>;
  stop(): Promise<void>;
  /** Settles when the run is over. */
  readonly finished: Promise<void>;
}

/**
 * The first SIGINT or SIGTERM drains `run`, a second stops it. With `exit`, the process exits
 * once the run is over: with code 0 after a drain, 128 + the last signal's number after a stop.
 * The listeners are removed when the run is over (unless the process is about to exit), so a
 * finished flow gives the signals back to Node's defaults.
 */
export function listenForSignals(run: Drainable, exit: boolean): void {
  let received = 0;
  let code = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    received++;
    if (received > 1) {
      code = 128 + (constants.signals[signal] ?? 0);
      void run.stop();
      return;
    }
    const done = run.drain();
    if (exit) void done.then(() => process.exit(code));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  void run.finished.then(() => {
    if (received > 0 && exit) return;
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  });
}
