/**
 * Whether `v` is a promise or any other thenable. A `then` that cannot be read (a getter or a
 * Proxy trap that throws) counts as one: awaiting `v` — what JavaScript does with it — then
 * rejects with that error, so the caller's `await` turns it into the item's failure instead of
 * the throw escaping from here.
 */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  if (v === null || (typeof v !== "object" && typeof v !== "function")) return false;
  try {
    return typeof (v as PromiseLike<unknown>).then === "function";
  } catch {
    return true;
  }
}
