/**
 * Reading what a user handed in, once and without letting their code throw past us: a getter,
 * a Proxy trap or a revoked Proxy becomes a {@link ReadProblem} that the caller reports as a
 * `FlowConfigError` naming the option.
 */

/** Why a value could not be read as an options object (or an array of stages). */
export type ReadProblem =
  /** Not a plain object: a primitive, an array, a function, a class instance, a Map, a Date, … */
  | { readonly kind: "notObject" }
  /** A key that is a symbol: options are named by strings. */
  | { readonly kind: "symbolKey"; readonly key: symbol }
  /** User code threw while we read: a getter, or a Proxy trap (`operation` says which). */
  | {
      readonly kind: "unreadable";
      readonly key: string | number | undefined;
      readonly operation: string;
      readonly error: unknown;
    }
  /** A hole in a sparse array. */
  | { readonly kind: "hole"; readonly key: number };

export type ReadResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: ReadProblem };

const fail = (problem: ReadProblem): { ok: false; problem: ReadProblem } => ({ ok: false, problem });

// Another realm's Object.prototype (a vm context) counts as plain too: its own prototype is null
// and its constructor is that realm's Object.
function isPlainPrototype(proto: object | null): boolean {
  if (proto === null || proto === Object.prototype) return true;
  try {
    return (
      Object.getPrototypeOf(proto) === null &&
      Object.hasOwn(proto, "isPrototypeOf") &&
      (proto as { constructor?: { name?: unknown } }).constructor?.name === "Object"
    );
  } catch {
    return false;
  }
}

/**
 * Reads an options object: a plain object (its prototype `Object.prototype` or `null`) whose own
 * keys are strings. Every own property is read exactly once, getters included, into a copy with
 * no prototype, so that nothing after this reads the user's object again.
 */
export function readOptionsObject(value: unknown): ReadResult<Record<string, unknown>> {
  if (typeof value !== "object" || value === null) return fail({ kind: "notObject" });
  let proto: object | null;
  try {
    proto = Object.getPrototypeOf(value);
  } catch (error) {
    return fail({ kind: "unreadable", key: undefined, operation: "reading its prototype", error });
  }
  if (!isPlainPrototype(proto)) return fail({ kind: "notObject" });
  let keys: (string | symbol)[];
  try {
    keys = Reflect.ownKeys(value);
  } catch (error) {
    return fail({ kind: "unreadable", key: undefined, operation: "listing its keys", error });
  }
  const copy: Record<string, unknown> = Object.create(null);
  for (const key of keys) {
    if (typeof key === "symbol") return fail({ kind: "symbolKey", key });
    try {
      copy[key] = (value as Record<string, unknown>)[key];
    } catch (error) {
      return fail({ kind: "unreadable", key, operation: "its getter", error });
    }
  }
  return { ok: true, value: copy };
}

/** Reads an array once, element by element, into a copy; a hole is a problem, not `undefined`. */
export function readArray(value: unknown): ReadResult<unknown[]> {
  try {
    if (!Array.isArray(value)) return fail({ kind: "notObject" });
  } catch (error) {
    // Array.isArray throws on a revoked Proxy.
    return fail({ kind: "unreadable", key: undefined, operation: "inspecting it", error });
  }
  const copy: unknown[] = [];
  let i = 0;
  try {
    const length = value.length;
    for (; i < length; i++) {
      if (!Object.hasOwn(value, i)) return fail({ kind: "hole", key: i });
      copy.push(value[i]);
    }
  } catch (error) {
    return fail({ kind: "unreadable", key: i, operation: "reading its elements", error });
  }
  return { ok: true, value: copy };
}

/** Reads `object[key]` without letting a getter or a Proxy trap throw: a throw reads as `undefined`. */
export function tryGet(object: unknown, key: PropertyKey): unknown {
  try {
    return (object as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}
