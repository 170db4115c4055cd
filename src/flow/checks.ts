import { FlowConfigError } from "../errors.js";
import { isCallable } from "../internal/callable.js";
import { describeValue } from "../internal/describe.js";
import { tryGet } from "../internal/read-value.js";
import type { Source } from "../model/types.js";

/** Checks a producer where it is given: an iterable, an async iterable, or a function returning one. */
export function checkSource(source: unknown, where: string): void {
  const ok =
    isCallable(source) ||
    (source !== null &&
      typeof source === "object" &&
      (typeof tryGet(source, Symbol.asyncIterator) === "function" ||
        typeof tryGet(source, Symbol.iterator) === "function"));
  if (!ok)
    throw new FlowConfigError(
      `${where}: producer = ${describeValue(source)}: expected an AsyncIterable, an Iterable, or a function returning one`,
      { option: "producer" },
    );
}

/** One-shot sources (generator objects and other iterators) that a run has taken. */
const claimed = new WeakSet<object>();

/**
 * A generator object, or any iterator that is its own iterable, yields its items once: a second
 * run of it would see none. Refuse that run instead of letting it end with zero items.
 */
export function claimOneShot(source: Source<unknown>): void {
  if (typeof source !== "object" || source === null) return;
  const s = source as Partial<AsyncIterable<unknown> & Iterable<unknown>> & { next?: unknown };
  if (typeof s.next !== "function") return;
  const self: unknown =
    typeof s[Symbol.asyncIterator] === "function"
      ? s[Symbol.asyncIterator]!()
      : typeof s[Symbol.iterator] === "function"
        ? s[Symbol.iterator]!()
        : null;
  if (self !== source) return;
  if (claimed.has(source))
    throw new FlowConfigError(
      "producer = an iterator (a generator object?) that an earlier run already consumed: it yields nothing more; pass the generator function (items, not items()) to run the flow again",
      { code: "ERR_FLOW_STATE", option: "producer" },
    );
  claimed.add(source);
}

/** The source of a run with no producer: `undefined` forever, until the flow is drained or stopped. */
export function* unbounded(): Generator<undefined> {
  for (;;) yield undefined;
}

/** The stage's name for messages: its `name` option as read, else its function's or shape's name. */
export function stageLabel(name: unknown, fn: unknown, fallback: string): string {
  if (typeof name === "string" && name.length > 0) return name;
  const own =
    fn !== null && (typeof fn === "object" || typeof fn === "function") ? tryGet(fn, "name") : undefined;
  return typeof own === "string" && own.length > 0 ? own : fallback;
}
