/**
 * How many items iterating `source` will give, when that is known without iterating it: an
 * array's length, a typed array's, a `Set`'s or `Map`'s size; `null` for anything else (a
 * generator, a stream), and for a value whose size cannot be read (a hostile proxy).
 */
export function sizeOf(source: unknown): number | null {
  try {
    if (Array.isArray(source)) return source.length;
    if (source instanceof Set || source instanceof Map) return source.size;
    if (ArrayBuffer.isView(source) && !(source instanceof DataView)) return (source as Uint8Array).length;
  } catch {}
  return null;
}
