// The module piscina loads in each of a threaded stage's threads. It loads the user's module on
// the first task (never at load time: a module that fails to load must fail a task, which piscina
// reports, rather than the thread's start, which it does not), runs its `setup`, and answers each
// task with `[kind, value]` (see wire.ts). Nothing it receives is executed: the module to load
// comes from the stage's definition, through `workerData`.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { workerData } from "node:worker_threads";
import { Piscina } from "piscina";
import { isTypeScript } from "../../internal/tsx.js";
import { LAST_BRAND, type LastValue } from "../../model/item/last.js";
import { Skip } from "../../model/item/skip.js";
import { TRANSFER_BRAND, type TransferValue } from "../../model/item/transfer.js";
import { encodeError, Kind, Op, type Task, UNLOADABLE } from "./wire.js";

type Fn = (item: unknown, ctx: unknown) => unknown;
interface Loaded {
  fn: Fn;
  close: ((worker: unknown) => unknown) | null;
}

const { module, worker: workerId } = workerData as { module: string; worker: number };
const worker = { id: workerId, data: {} as Record<string, unknown> };
/** Never aborted: a call whose signal is aborted in the main thread has its thread terminated. */
const signal = new AbortController().signal;
let loading: Promise<Loaded> | null = null;

/**
 * The user's module. A `.ts` one is required through tsx's CommonJS hook: Node 20 does not apply
 * `--import tsx`'s ESM hooks inside worker threads, while its require hook works there.
 */
function importModule(): Promise<unknown> {
  if (!isTypeScript(module)) return import(module);
  const path = fileURLToPath(module);
  return Promise.resolve(createRequire(path)(path));
}

const unloadable = (message: string) => Object.assign(new TypeError(message), { code: UNLOADABLE });

async function load(): Promise<Loaded> {
  let m: Record<string, unknown>;
  try {
    m = (await importModule()) as Record<string, unknown>;
  } catch (error) {
    throw Object.assign(
      new Error(
        `the worker module ${module} could not be loaded: ${String((error as Error)?.message ?? error)}`,
        {
          cause: error,
        },
      ),
      { code: UNLOADABLE },
    );
  }
  const fn = m.default;
  if (typeof fn !== "function")
    throw unloadable(
      `the worker module ${module} has no default export function (it has ${typeof fn}); export default (item, ctx) => result`,
    );
  if (m.setup !== undefined && typeof m.setup !== "function")
    throw unloadable(
      `the worker module ${module}: its setup export is a ${typeof m.setup}; expected a function`,
    );
  if (m.close !== undefined && typeof m.close !== "function")
    throw unloadable(
      `the worker module ${module}: its close export is a ${typeof m.close}; expected a function`,
    );
  if (typeof m.setup === "function") await (m.setup as (w: unknown) => unknown)(worker);
  return { fn: fn as Fn, close: (m.close as Loaded["close"]) ?? null };
}

const branded = (v: unknown, brand: symbol): boolean =>
  typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[brand] === true;

/**
 * A result as it crosses: a primitive as itself, anything else as `[kind, value]` (see wire.ts).
 * `Last` and `transfer` are told by brand, not class: the module may import another copy of
 * flowrhythm (a `.ts` source beside a build), and a look-alike class of the user's is no marker.
 */
function encode(r: unknown): unknown {
  if (typeof r !== "object" || r === null) return r === Skip ? [Kind.Skip, null] : r;
  if (branded(r, LAST_BRAND)) return [Kind.Last, (r as LastValue<unknown>).value];
  if (branded(r, TRANSFER_BRAND)) {
    let value: unknown = r;
    const list: unknown[] = [];
    // transfer(transfer(v, a), b) moves a and b.
    while (branded(value, TRANSFER_BRAND)) {
      list.push(...(value as TransferValue<unknown>).list);
      value = (value as TransferValue<unknown>).value;
    }
    return Piscina.move({
      [Piscina.transferableSymbol]: list,
      [Piscina.valueSymbol]: [Kind.Value, value],
    } as never);
  }
  return [Kind.Value, r];
}

/** The one `ctx` of this thread's calls, rewritten per call (a lane makes one call at a time). */
const ctx = {
  id: 0,
  parentId: undefined as number | undefined,
  ids: undefined as readonly number[] | undefined,
  runId: "",
  attempt: 1,
  stage: "",
  worker,
  signal,
};

export default async function handle(task: Task): Promise<unknown> {
  loading ??= load();
  let loaded: Loaded;
  try {
    loaded = await loading;
  } catch (error) {
    return [Kind.SetupFailed, encodeError(error)];
  }
  if (task[0] === Op.Call) {
    ctx.id = task[2];
    ctx.attempt = task[3];
    ctx.parentId = task[4];
    ctx.ids = task[5];
    try {
      return encode(await loaded.fn(task[1], ctx));
    } catch (error) {
      return [Kind.Thrown, encodeError(error)];
    }
  }
  if (task[0] === Op.Open) {
    ctx.runId = task[1].runId;
    ctx.stage = task[1].stage;
    return [Kind.Done, loaded.close !== null];
  }
  try {
    if (loaded.close !== null) await loaded.close(worker);
    return [Kind.Done, null];
  } catch (error) {
    return [Kind.Thrown, encodeError(error)];
  }
}
