/** How long to wait between attempts: `baseMs · factor^(n−1)`, capped at `maxMs`, then ±`jitter`. */
export interface BackoffOptions {
  /** The wait before the second attempt. @defaultValue 100 */
  baseMs?: number;
  /** The longest wait, before jitter. @defaultValue 30000, or `baseMs` if that is more */
  maxMs?: number;
  /** Growth per attempt. @defaultValue 2 */
  factor?: number;
  /** Spread as a fraction of the wait: 0.5 waits 50–150 % of it, so failed items do not return in step. @defaultValue 0.5 */
  jitter?: number;
}

/** A stage's `retry` option. */
export interface RetryOptions<T = any> {
  /** Attempts in all, the first included. @defaultValue 3 */
  attempts?: number;
  backoff?: BackoffOptions;
  /**
   * Whether an error is worth another attempt (transient) or final (permanent); `item` is the
   * stage's input (a batch stage's: the batch). @defaultValue every error but an `AbortError`
   */
  retryOn?: (error: unknown, item: T) => boolean;
}

/** The wait before the second attempt when `backoff.baseMs` is not given. */
export const DEFAULT_BASE_MS = 100;

/** A stage's retry settings with every default filled in. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly retryOn: (error: unknown, item: unknown) => boolean;
}

/** Everything but an abort is worth another try; a timeout (`TimeoutError`) is. */
export const transientUnlessAborted = (error: unknown): boolean =>
  (error as { name?: unknown } | null)?.name !== "AbortError";

export function retryPolicy(options: RetryOptions | undefined): RetryPolicy | null {
  if (options === undefined) return null;
  const b = options.backoff ?? {};
  const baseMs = b.baseMs ?? DEFAULT_BASE_MS;
  return {
    attempts: options.attempts ?? 3,
    baseMs,
    // A base above the default cap raises the cap rather than being silently cut to it.
    maxMs: b.maxMs ?? Math.max(30_000, baseMs),
    factor: b.factor ?? 2,
    jitter: b.jitter ?? 0.5,
    retryOn: options.retryOn ?? transientUnlessAborted,
  };
}

/** The wait after failed attempt `attempt` (1-based); `random` is uniform in [0, 1). */
export function backoffDelay(p: RetryPolicy, attempt: number, random: number): number {
  const capped = Math.min(p.maxMs, p.baseMs * p.factor ** (attempt - 1));
  return Math.max(0, capped * (1 + p.jitter * (2 * random - 1)));
}
