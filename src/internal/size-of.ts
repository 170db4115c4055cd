/**
 * How many items iterating `source` will give, when that is known without iterating it: an
 * array's length, a typed array's, a `Set`'s or `Map`'s size; `null` for anything else (a
 * generator, a stream), and for a value whose size cannot be read or is not a whole number ≥ 0
 * (a hostile proxy, a subclass whose `size` says "unknown").
 */
export function sizeOf(source: unknown): number | null {
  let size: unknown = null;
  try {
    if (Array.isArray(source)) size = source.length;
    else if (source instanceof Set || source instanceof Map) size = source.size;
    else if (ArrayBuffer.isView(source) && !(source instanceof DataView))
      size = (source as Uint8Array).length;
  } catch {}
  // A subclass or a proxy can say anything: only a whole number ≥ 0 is a size.
  return Number.isSafeInteger(size) && (size as number) >= 0 ? (size as number) : null;
}
