import { z } from "zod";
import type { Flow } from "../flow/flow.js";
import { isCallable } from "../internal/callable.js";
import { ms, whole } from "../internal/option-fields.js";
import { check, type OptionsInput, optionsObject, parseOptions } from "../internal/parse-options.js";
import { isThenable } from "../internal/is-thenable.js";
import { SharedListener } from "../internal/shared-listener.js";
import type { FlowStats } from "../stats/stage-stats.js";
import { checkFlow } from "./check-flow.js";
import { progressFrame, progressLine } from "./progress-format.js";

/**
 * The reporters listening for each stream's 'error' events, behind one listener a stream: ten
 * reporters on `process.stderr` would otherwise trip its MaxListenersExceededWarning. A stream
 * whose `on`/`off` throws is left without: a failing write then stops the reporter instead.
 */
const streamErrors = new SharedListener<ProgressStream>(
  (stream, fire) => {
    try {
      stream.on?.("error", fire);
    } catch {}
  },
  (stream, fire) => {
    try {
      stream.off?.("error", fire);
    } catch {}
  },
);

/** Whether `stream` says it is a terminal; a getter that throws reads as no. */
function isTerminal(stream: ProgressStream): boolean {
  try {
    return stream.isTTY === true;
  } catch {
    return false;
  }
}

/**
 * Where progress is written: a writable stream, or anything with `write(text)`. `isTTY`,
 * `columns` and `rows` are read on every frame, so a resized terminal is followed.
 */
export interface ProgressStream {
  /** Takes one frame or line; a throw stops the reporter. */
  write(chunk: string): unknown;
  /** A terminal: frames are redrawn in place (mode `"auto"`). */
  readonly isTTY?: boolean | undefined;
  /** The terminal's width: lines are cut to it. */
  readonly columns?: number | undefined;
  /** The terminal's height: a frame keeps below it. */
  readonly rows?: number | undefined;
  /** `false` once the stream has ended: the reporter stops. */
  readonly writable?: boolean | undefined;
  /** An `'error'` event stops the reporter. */
  on?(event: "error", listener: (error: unknown) => void): unknown;
  /** Takes the reporter's `'error'` listener off when it stops. */
  off?(event: "error", listener: (error: unknown) => void): unknown;
}

/** How progress is shown. */
export type ProgressMode = "auto" | "tty" | "lines" | "silent";

/** The reporter's settings when its options leave them out. */
export const PROGRESS_DEFAULTS = Object.freeze({
  mode: "auto" as ProgressMode,
  /** A terminal frame is cheap to redraw and 4 a second reads as live. */
  ttyIntervalMs: 250,
  /** A log line every 5 s keeps a CI log readable (720 lines an hour) and shows a stall quickly. */
  linesIntervalMs: 5_000,
  /** The width when the stream does not say (not a terminal): a default terminal's. */
  columns: 80,
});

const progressShape = {
  /** Where to write. @defaultValue `process.stderr` (so the progress never mixes with a program's output) */
  stream: check<ProgressStream>(
    (v) => typeof v === "object" && v !== null && isCallable((v as ProgressStream).write),
    "a writable stream (an object with a write(text) method)",
  ).optional(),
  /**
   * `"tty"`: one frame redrawn in place (ANSI cursor-up and clear-line); `"lines"`: one plain
   * line each interval, no escape codes (CI logs); `"silent"`: nothing; `"auto"`: `"tty"` when
   * the stream is a terminal (`isTTY`), else `"lines"`.
   * @defaultValue "auto"
   */
  mode: z
    .literal(["auto", "tty", "lines", "silent"], { error: '"auto", "tty", "lines" or "silent"' })
    .default(PROGRESS_DEFAULTS.mode),
  /** How often to redraw (tty) or print a line (lines). @defaultValue 250 in tty mode, 5000 in lines mode */
  intervalMs: ms({ min: 10 }).optional(),
  /**
   * The widest a line may be. On a terminal the terminal's own width caps it too.
   * @defaultValue the stream's `columns`, else 80
   */
  columns: whole(20, 1000).optional(),
};

/** Options of {@link reportProgress}. */
export interface ProgressOptions extends OptionsInput<typeof progressShape> {}

const progressSchema = optionsObject(progressShape);

/** What {@link reportProgress} returns: stop it early, or let `using` stop it at the end of a scope. */
export interface ProgressHandle {
  /** Stops drawing and lets go of the flow and the stream; the last frame stays on screen. Idempotent. */
  stop(): void;
  /** The same as `stop()`, for `using`. */
  [Symbol.dispose](): void;
}

/** ESC [ n A: cursor up n lines; ESC [ 2K: clear the line; ESC [ J: clear to the end of the screen. */
const up = (n: number) => (n > 0 ? `\x1b[${n}A\r` : "\r");
const CLEAR_LINE = "\x1b[2K";
const CLEAR_BELOW = "\x1b[J";

/**
 * Shows a flow's progress on a terminal or in a log, in one line: the done/total count, percent
 * and ETA when the source's size is known (else what is done and the rate), the time elapsed,
 * and for each stage its busy and total workers, its peak, its queue and its items/s.
 *
 * On a terminal the frame is redrawn in place every `intervalMs`, never wider than the terminal
 * or `columns`; elsewhere one plain line is printed each interval. It reads only `flow.stats()`,
 * on a timer that never holds the process open, and it ends by itself, with a last frame or line,
 * when the flow emits `drained` or `stopped`. It never throws into the flow: a failed write
 * stops it quietly. Call it before or after `start()`; it follows the flow's next (or current) run.
 *
 * @throws FlowConfigError when an option is not what is expected.
 * @example
 * ```ts
 * const f = flow(fetchPage, parse, store);
 * reportProgress(f);
 * await f.run(urls); // urls is an array: total and ETA are known
 * ```
 */
export function reportProgress(flow: Flow<any, any>, options?: ProgressOptions): ProgressHandle {
  checkFlow("reportProgress", flow);
  const o = parseOptions(progressSchema, options, "reportProgress");
  const stream: ProgressStream = o.stream ?? process.stderr;
  const mode = o.mode === "auto" ? (isTerminal(stream) ? "tty" : "lines") : o.mode;
  let stopped = false;
  /** Lines of the frame on screen, which the next redraw moves up over. */
  let drawn = 0;
  let timer: ReturnType<typeof setInterval> | undefined;

  const width = (): number => {
    const own = typeof stream.columns === "number" && stream.columns > 0 ? stream.columns : undefined;
    const limit = o.columns ?? own ?? PROGRESS_DEFAULTS.columns;
    // On a terminal, the last column is left free: a line that fills it puts some terminals in a
    // pending wrap, and the next newline would then leave an empty line and break the redraw.
    return mode === "tty" ? Math.max(1, Math.min(limit, own ?? limit) - 1) : limit;
  };

  const write = (text: string): void => {
    if (stream.writable === false) throw new Error("the stream is closed");
    const written = stream.write(text);
    // An async write (a promise-returning sink) that rejects stops the reporter, never the process.
    if (isThenable(written)) Promise.resolve(written).catch(stop);
  };

  const draw = (final: boolean): void => {
    // Called from a timer and from the flow's own events: nothing may escape from here.
    try {
      render(flow.stats(), final);
    } catch {
      stop();
    }
  };

  const render = (stats: FlowStats, final: boolean): void => {
    if (mode === "lines") {
      // A flow not running (not started yet, or a run that ended before this reporter) has
      // nothing new to say: a log gets no line until it runs.
      if (final || stats.state === "running" || stats.state === "draining" || stats.state === "stopping")
        write(`${progressLine(stats, width(), final)}\n`);
      return;
    }
    const rows = typeof stream.rows === "number" && stream.rows > 1 ? stream.rows : undefined;
    const lines = progressFrame(stats, { columns: width(), rows }, final);
    write(`${up(drawn)}${lines.map((line) => `${CLEAR_LINE}${line}\n`).join("")}${CLEAR_BELOW}`);
    drawn = lines.length;
  };

  const onError = (): void => stop();
  const onEnd = (): void => {
    if (stopped) return;
    draw(true);
    stop();
  };

  function stop(): void {
    if (stopped) return;
    stopped = true;
    if (timer !== undefined) clearInterval(timer);
    flow.off("drained", onEnd);
    flow.off("stopped", onEnd);
    streamErrors.delete(stream, onError);
  }

  const handle: ProgressHandle = { stop, [Symbol.dispose]: stop };
  if (mode === "silent") {
    stopped = true;
    return handle;
  }
  // A write that fails later (EPIPE, a closed stream) is reported as an 'error' event: heard
  // here, it stops the reporter instead of crashing a process that had no listener.
  streamErrors.add(stream, onError);
  flow.on("drained", onEnd);
  flow.on("stopped", onEnd);
  const intervalMs =
    o.intervalMs ?? (mode === "tty" ? PROGRESS_DEFAULTS.ttyIntervalMs : PROGRESS_DEFAULTS.linesIntervalMs);
  timer = setInterval(() => draw(false), intervalMs);
  timer.unref?.();
  return handle;
}
