/** Whether `v` is a promise or any other thenable. */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === "object" || typeof v === "function") &&
    typeof (v as PromiseLike<unknown>).then === "function"
  );
}
