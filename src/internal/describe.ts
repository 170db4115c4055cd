import { types } from "node:util";
import { isClass } from "./callable.js";

/** Renders a value for an error message: short, and never throwing (not even on a hostile Proxy). */
export function describeValue(value: unknown): string {
  try {
    return describe(value);
  } catch {
    return "a value that cannot be inspected";
  }
}

/** Renders what user code threw, for a message: `TypeError: boom`. Never throws. */
export function describeThrown(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.name}: ${error.message}`;
  } catch {}
  return describeValue(error);
}

function describe(value: unknown): string {
  if (typeof value === "function") {
    if (types.isProxy(value)) return "a Proxy of a function";
    const name = typeof value.name === "string" && value.name ? value.name : "(anonymous)";
    return `${isClass(value) ? "class" : "function"} ${name}`;
  }
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === "symbol") return value.toString();
  // Anything below may run user code (a Proxy's traps, a getter): a Proxy is named, not opened.
  if (types.isProxy(value)) return "a Proxy";
  if (Array.isArray(value)) return `array(${value.length})`;
  const tag = Object.prototype.toString.call(value);
  if (tag === "[object AsyncGenerator]" || tag === "[object Generator]") return "a generator object";
  // An instance of a class (a Router, a Flow, a Map) is named by its class, not dumped.
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
  const ctor = proto?.constructor;
  if (ctor && ctor !== Object && typeof ctor.name === "string" && ctor.name) return `a ${ctor.name}`;
  if (proto !== null && proto !== Object.prototype && ctor === Object)
    return "an object inheriting from another";
  if (Object.getOwnPropertySymbols(value).length > 0) return "an object with symbol keys";
  try {
    const s = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
    if (s !== undefined) return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {}
  return tag;
}
