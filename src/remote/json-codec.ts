import type { Codec } from "./options.js";

/**
 * Where `value` would not come back the same through JSON, as a path and a reason (`null` when it
 * would): a `Date`, `Map`, `Set`, class instance, `undefined`, function, symbol, `BigInt`, a
 * number JSON cannot hold (`NaN`, `Infinity`, `-0`), an object with a `toJSON`, an array subclass
 * or an array with properties of its own, a hole, or a cycle. An object with a null prototype
 * passes: it comes back a plain object with the same properties.
 */
export function jsonLoss(value: unknown): string | null {
  const seen = new Set<object>();
  const at = (path: string, v: unknown): string | null => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return null;
      case "number":
        return Number.isFinite(v) && !Object.is(v, -0)
          ? null
          : `${path} is ${String(Object.is(v, -0) ? "-0" : v)} (JSON has no such number)`;
      case "object": {
        if (v === null) return null;
        if (seen.has(v)) return `${path} is a cycle (it contains itself)`;
        const proto = Object.getPrototypeOf(v);
        if (Array.isArray(v)) {
          if (proto !== Array.prototype)
            return `${path} is a ${proto?.constructor?.name ?? "subclass of Array"} (JSON keeps only plain arrays)`;
          // Own properties besides the elements and `length` (enumerable or not) are lost.
          if (
            Object.getOwnPropertyNames(v).length !== v.length + 1 ||
            Object.getOwnPropertySymbols(v).length > 0
          )
            return `${path} is an array with properties of its own besides its elements (JSON drops them)`;
          seen.add(v);
          for (let i = 0; i < v.length; i++) {
            if (!(i in v)) return `${path}[${i}] is a hole`;
            const lost = at(`${path}[${i}]`, v[i]);
            if (lost) return lost;
          }
          seen.delete(v);
          return null;
        }
        if (proto !== Object.prototype && proto !== null)
          return `${path} is a ${proto?.constructor?.name ?? "class instance"} (JSON keeps only plain objects and arrays)`;
        if (typeof (v as { toJSON?: unknown }).toJSON === "function") return `${path} has a toJSON()`;
        if (Object.getOwnPropertySymbols(v).length > 0) return `${path} has symbol keys`;
        if (Object.getOwnPropertyNames(v).length !== Object.keys(v).length)
          return `${path} has properties that are not enumerable (JSON drops them)`;
        seen.add(v);
        for (const [k, x] of Object.entries(v)) {
          const lost = at(`${path}.${k}`, x);
          if (lost) return lost;
        }
        seen.delete(v);
        return null;
      }
      default:
        return `${path} is ${typeof v === "undefined" ? "undefined" : `a ${typeof v}`} (JSON drops or refuses it)`;
    }
  };
  return at("item", value);
}

/** Thrown for an item that cannot cross to another process. */
export class ItemCodecError extends TypeError {
  /** Always `"ItemCodecError"`. */
  override readonly name = "ItemCodecError";
}

/** JSON, refusing (with an {@link ItemCodecError} saying where) what would not come back the same. */
export const jsonCodec: Codec = {
  encode(value: unknown): string {
    let lost: string | null;
    let text: string;
    try {
      lost = jsonLoss(value);
      text = lost === null ? JSON.stringify(value) : "";
    } catch (error) {
      // A getter or a Proxy trap of the item threw while it was read.
      throw new ItemCodecError(`the item could not be read to cross to another process: ${String(error)}`, {
        cause: error,
      });
    }
    if (lost !== null)
      throw new ItemCodecError(
        `the item cannot cross to another process as JSON: ${lost}; pass a codec to distribute() for such items`,
      );
    return text;
  },
  decode(text: string): unknown {
    return JSON.parse(text);
  },
};
