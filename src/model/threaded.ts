import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FlowConfigError } from "../errors.js";
import { describeValue } from "../internal/describe.js";
import { hasTsx, isTsxInternal, isTypeScript } from "../internal/tsx.js";
import { fn, whole } from "../internal/option-fields.js";
import { check, type OptionsInput, optionsObject, parseOptions } from "../internal/parse-options.js";
import { PER_WORKER, type PerWorker } from "./per-worker.js";
import type { StageContext, WorkerInfo } from "./types.js";

/** What a worker module exports: the stage's function, and optionally a per-thread setup and close. */
export interface ThreadModule {
  /** The stage's function, called once per item in a thread: a result, a promise of one, `Skip` or `Last(...)`. */
  default: (item: any, ctx: StageContext) => unknown;
  /** Runs once in each thread before its first item (awaited); `worker.data` is the thread's own. */
  setup?: (worker: WorkerInfo) => unknown;
  /** Runs once in each thread when its worker leaves (awaited, within `closeTimeoutMs`). */
  close?: (worker: WorkerInfo) => unknown;
}

/** The item type of a worker module's function. */
export type ThreadIn<M extends ThreadModule> = Parameters<M["default"]>[0];
/** The result type of a worker module's function (what it returns or resolves to). */
export type ThreadOut<M extends ThreadModule> = Awaited<ReturnType<M["default"]>>;

const mb = () => whole(1, 1 << 20, " (megabytes)").optional();
const optionsShape = {
  /**
   * Picks the `ArrayBuffer`s (or other transferables) of an item to move into the thread instead
   * of copying them; the item must not use them afterwards. A result comes back moved when the
   * module returns `transfer(value, list)`. @defaultValue everything is copied
   */
  transfer: fn<(item: any) => readonly unknown[]>("(item) => transferables").optional(),
  /** Each thread's memory limits (Node's `resourceLimits`): a thread that passes one fails its call and is replaced. */
  resourceLimits: optionsObject({
    /** The thread's main heap, in MB. */
    maxOldGenerationSizeMb: mb(),
    /** The heap for recently created objects, in MB. */
    maxYoungGenerationSizeMb: mb(),
    /** Memory for generated code, in MB. */
    codeRangeSizeMb: mb(),
    /** The thread's stack, in MB. */
    stackSizeMb: mb(),
  }).optional(),
  /**
   * Node flags for the threads. @defaultValue this process's own flags, plus `--import tsx` for a
   * `.ts` module when tsx is installed and not loaded already
   */
  execArgv: check<string[]>(
    (v) => Array.isArray(v) && v.every((a) => typeof a === "string"),
    "an array of strings (Node flags)",
  ).optional(),
};

/** Options of {@link threaded}. */
export interface ThreadedOptions<In = unknown> extends OptionsInput<typeof optionsShape> {
  transfer?: ((item: In) => readonly unknown[]) | undefined;
}

/** How a threaded stage's threads are made: the resolved module and the options, as `threaded` checked them. */
export interface ThreadSpec {
  /** The worker module, as a `file:` URL. */
  readonly module: string;
  readonly transfer: ((item: unknown) => readonly unknown[]) | null;
  readonly resourceLimits: Record<string, number> | undefined;
  readonly execArgv: string[];
}

/** A stage made by {@link threaded}: a per-worker stage whose resource is a thread. */
export interface Threaded<In, Out> extends PerWorker<In, Out> {
  /** @internal How its threads are made. */
  readonly threads: ThreadSpec;
}

const optionsSchema = optionsObject(optionsShape);

/** Flags a thread inherits, by name: module loading and warnings (the ones that take a value, apart). */
const INHERITED = /^(--(import|require|loader|experimental-loader|conditions|disable-warning)|-r|-C)$/;
const INHERITED_BARE =
  /^--(enable-source-maps|no-warnings|no-deprecation|trace-warnings|trace-deprecation|throw-deprecation|pending-deprecation|experimental-(vm-modules|specifier-resolution|json-modules|wasm-modules|detect-module|require-module|default-type|import-meta-resolve))(=|$)/;

/**
 * The flags of this process its threads take over: those that load modules (`--import`,
 * `--require`, loaders, `--conditions`) and those about warnings and source maps. Worker threads
 * refuse V8 and process flags (`--max-old-space-size`, `--expose-gc`, `--title`, …) — a thread
 * given one fails to start — so the rest stay with the process; tsx's own hooks are left out too
 * (its `--import tsx` is what works in a thread).
 */
function ownFlags(): string[] {
  const out: string[] = [];
  const flags = process.execArgv;
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i]!;
    const name = f.split("=")[0]!;
    if (INHERITED.test(name)) {
      const value = f.includes("=") ? f.slice(f.indexOf("=") + 1) : (flags[++i] ?? "");
      if (!isTsxInternal(value)) out.push(name, value);
    } else if (INHERITED_BARE.test(f)) out.push(f);
  }
  return out;
}

function moduleUrlOf(moduleUrl: unknown): string {
  const bad = (why: string) =>
    new FlowConfigError(
      `threaded: moduleUrl = ${describeValue(moduleUrl)}: ${why}; pass new URL("./my.worker.js", import.meta.url)`,
      { option: "moduleUrl" },
    );
  let url: URL;
  if (moduleUrl instanceof URL) url = moduleUrl;
  else if (typeof moduleUrl === "string" && /^file:/i.test(moduleUrl)) url = new URL(moduleUrl);
  else if (typeof moduleUrl === "string" && isAbsolute(moduleUrl)) url = pathToFileURL(moduleUrl);
  else throw bad("expected a file: URL or an absolute path to the worker module");
  if (url.protocol !== "file:") throw bad("expected a file: URL (a thread loads its module from disk)");
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch (error) {
    throw bad(`not a local file (${(error as Error).message})`);
  }
  if (!existsSync(path)) throw bad(`no file at ${path}`);
  if (!statSync(path).isFile()) throw bad(`${path} is not a file`);
  return url.href;
}

/** The threads' Node flags: as asked, or this process's, with tsx's loader added for a `.ts` module. */
function execArgvOf(module: string, asked: string[] | undefined): string[] {
  const flags = asked ?? ownFlags();
  if (!isTypeScript(module) || hasTsx(flags)) return [...flags];
  try {
    createRequire(import.meta.url).resolve("tsx");
  } catch {
    throw new FlowConfigError(
      `threaded: moduleUrl = "${module}": a .ts worker module needs tsx in its threads, and tsx is not installed; install it (npm install --save-dev tsx), or point at the compiled .js module`,
      { option: "moduleUrl" },
    );
  }
  return [...flags, "--import", "tsx"];
}

/**
 * A stage whose calls run in worker threads: for CPU-bound work, which in the event loop buys
 * nothing from more workers and starves everything else. The module's default export is the
 * stage's function, `(item, ctx) => result` (or a promise of one); optional `setup(worker)` and
 * `close(worker)` exports run once per thread, like a `perWorker` resource (`worker.data` is the
 * thread's own). Each of the stage's workers is one thread: the stage's strategy sizes the threads
 * (with none, `AdaptiveScaling` up to the flow's `maxThreads`, which every threaded stage shares).
 *
 * Items and results cross by structured clone: plain data, arrays, `Map`, `Set`, `Date`, typed
 * arrays, errors — not functions, symbols or class prototypes. `Skip` and `Last(...)` returned by
 * the module work as anywhere. An item that cannot cross fails, reported; it is never lost.
 *
 * @example
 * ```ts
 * // hash.worker.ts: export default (buf: Uint8Array) => createHash("sha256").update(buf).digest("hex");
 * flow.addTransformer(threaded<typeof import("./hash.worker.js")>(new URL("./hash.worker.ts", import.meta.url)));
 * ```
 */
export function threaded<M extends ThreadModule>(
  moduleUrl: string | URL,
  options: ThreadedOptions<ThreadIn<M>> = {},
): Threaded<ThreadIn<M>, ThreadOut<M>> {
  const module = moduleUrlOf(moduleUrl);
  const o = parseOptions(optionsSchema, options, "threaded");
  const threads: ThreadSpec = {
    module,
    transfer: (o.transfer as ThreadSpec["transfer"]) ?? null,
    resourceLimits: o.resourceLimits as Record<string, number> | undefined,
    execArgv: execArgvOf(module, o.execArgv),
  };
  const factory = () => {
    throw new Error("a threaded stage's resource is opened by its call site");
  };
  return { [PER_WORKER]: true, factory, threads } as Threaded<ThreadIn<M>, ThreadOut<M>>;
}

/** The thread spec of a stage's function, if it is a threaded one. */
export function threadsOf(value: unknown): ThreadSpec | null {
  return typeof value === "object" && value !== null && "threads" in value
    ? ((value as Threaded<unknown, unknown>).threads ?? null)
    : null;
}
