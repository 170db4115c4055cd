/**
 * What crosses between a threaded stage and its threads (through piscina). A call's task is flat
 * — `[Op.Call, item, id, attempt, parentId, ids]` — so that the clone stays small; what is the
 * same for every call of a lane (the run's id, the stage's name) crosses once, in the `Open` task.
 * A result is the value itself when it is a primitive, else `[kind, value]`. Errors cross encoded,
 * so that what `overloadOn`, `retryAfterMs` and `retryOn` read (name, own properties, cause)
 * survives: structured clone alone keeps only a standard error's message and stack.
 */
export const Op = { Call: 0, Open: 1, Close: 2 } as const;
/** The code of an error a thread gives for a module it cannot use (not loadable, no default export function). */
export const UNLOADABLE = "ERR_THREAD_MODULE";
export const Kind = { Value: 0, Thrown: 1, Skip: 2, Last: 3, SetupFailed: 4, Done: 5 } as const;

/** What a lane's thread is told once, when it opens: what every call's `ctx` shares. */
export interface LaneInfo {
  runId: string;
  stage: string;
}

export type Task =
  | readonly [
      op: typeof Op.Call,
      item: unknown,
      id: number,
      attempt: number,
      parentId: number | undefined,
      ids: readonly number[] | undefined,
    ]
  | readonly [op: typeof Op.Open, info: LaneInfo]
  | readonly [op: typeof Op.Close];
export type Result = readonly [kind: number, value: unknown];

/** An error as it crosses: what structured clone keeps of it, and the rest spelled out. */
export type WireError =
  | { thrown: unknown }
  | {
      name: string;
      message: string;
      stack?: string | undefined;
      props: Record<string, unknown>;
      cause?: WireError;
    };

const clones = (v: unknown): boolean => {
  try {
    structuredClone(v);
    return true;
  } catch {
    return false;
  }
};

/** Encodes what user code threw in a thread (never throws; a property that cannot cross is left out). */
export function encodeError(e: unknown, depth = 0): WireError {
  if (!(e instanceof Error)) return { thrown: clones(e) ? e : String(e) };
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(e)) {
    const v = (e as unknown as Record<string, unknown>)[key];
    if (key !== "cause" && clones(v)) props[key] = v;
  }
  const out: WireError = { name: e.name, message: e.message, stack: e.stack, props };
  if (e.cause !== undefined && depth < 8) out.cause = encodeError(e.cause, depth + 1);
  return out;
}

/** Revives an encoded error: its name, message, stack, cause and own properties. */
export function decodeError(e: WireError): unknown {
  if ("thrown" in e) return e.thrown;
  const error = new Error(e.message, e.cause === undefined ? undefined : { cause: decodeError(e.cause) });
  Object.defineProperty(error, "name", { value: e.name, configurable: true, writable: true });
  if (e.stack !== undefined) error.stack = e.stack;
  return Object.assign(error, e.props);
}
