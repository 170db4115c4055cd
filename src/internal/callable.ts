/** Whether `fn` is a class: calling it without `new` throws, so it is never a stage's function. */
export function isClass(fn: unknown): boolean {
  if (typeof fn !== "function") return false;
  try {
    return /^class\b/.test(Function.prototype.toString.call(fn));
  } catch {
    return false;
  }
}

/** A function that can be called: not a class. */
export const isCallable = (v: unknown): boolean => typeof v === "function" && !isClass(v);
