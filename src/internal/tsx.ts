/** Whether `flags` load tsx the way a worker thread honours: `--import tsx` (tsx's own loader path does not carry into threads). */
export function hasTsx(flags: readonly string[]): boolean {
  return flags.some((f, i) => f === "--import=tsx" || (f === "--import" && flags[i + 1] === "tsx"));
}

/** Whether a flag (with the value after it) is one of tsx's own, which the `tsx` command adds. */
export const isTsxInternal = (value: string): boolean =>
  /[/\\]tsx[/\\]dist[/\\](preflight\.cjs|loader\.mjs)$/.test(value);

/** Whether a module path is TypeScript, which a thread loads only with tsx. */
export const isTypeScript = (path: string): boolean => /\.(c|m)?tsx?$/.test(path);
