import { tryGet } from "../internal/read-value.js";

/** The HTTP statuses that say the service behind a stage is overloaded: Too Many Requests, Service Unavailable. */
const OVERLOAD_STATUSES: ReadonlySet<unknown> = new Set([429, 503]);

/**
 * The default `overloadOn`: whether `error` carries HTTP status 429 or 503 where common clients
 * put it — `error.status` (fetch `Response` thrown as is, undici, axios ≥ 1), `error.statusCode`
 * (undici, Node's `http` wrappers), `error.response.status` (axios, a wrapped `Response`) or
 * `error.response.statusCode` (got). Never throws: a getter that throws reads as no status.
 */
export function isOverloadError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  if (OVERLOAD_STATUSES.has(tryGet(error, "status"))) return true;
  if (OVERLOAD_STATUSES.has(tryGet(error, "statusCode"))) return true;
  const response = tryGet(error, "response");
  if (typeof response !== "object" || response === null) return false;
  return (
    OVERLOAD_STATUSES.has(tryGet(response, "status")) || OVERLOAD_STATUSES.has(tryGet(response, "statusCode"))
  );
}

/**
 * How long `error` asks the next attempt to wait, in ms, or `NaN` when it asks nothing. Looked
 * for in this order, the first present wins:
 * - `error.retryAfterMs`: milliseconds (a number);
 * - `error.retryAfter`: what the `Retry-After` header holds — seconds (a number or a string of
 *   digits) or an HTTP date (a string, or a `Date`);
 * - the `Retry-After` header in `error.headers` or `error.response.headers`, either a `Headers`-like
 *   object with `get()` (fetch, axios) or a plain object keyed `retry-after` (got, undici, Node).
 *
 * An HTTP date is measured against the wall clock (`Date.now()`), whatever the flow's clock: the
 * server wrote it from its own wall clock. A date in the past reads as 0. Never throws.
 */
export function retryAfterMs(error: unknown): number {
  if (typeof error !== "object" || error === null) return Number.NaN;
  const ms = tryGet(error, "retryAfterMs");
  if (ms !== undefined && ms !== null)
    return typeof ms === "number" && ms >= 0 && Number.isFinite(ms) ? ms : Number.NaN;
  const own = tryGet(error, "retryAfter");
  if (own !== undefined && own !== null) return parseRetryAfter(own);
  const header = headerOf(tryGet(error, "headers")) ?? headerOf(tryGet(tryGet(error, "response"), "headers"));
  return header === undefined ? Number.NaN : parseRetryAfter(header);
}

function headerOf(headers: unknown): unknown {
  if (typeof headers !== "object" || headers === null) return undefined;
  const get = tryGet(headers, "get");
  if (typeof get === "function") {
    try {
      const v: unknown = get.call(headers, "retry-after");
      if (v !== undefined && v !== null) return v;
    } catch {
      // A `get` that throws is no header; the plain keys may still hold one.
    }
  }
  return tryGet(headers, "retry-after") ?? tryGet(headers, "Retry-After") ?? undefined;
}

const DELAY_SECONDS = /^\s*\d+(?:\.\d+)?\s*$/;

/** A `Retry-After` value in ms: seconds, or an HTTP date; `NaN` when it is neither. */
export function parseRetryAfter(value: unknown): number {
  let v = value;
  // Node's header objects may hold a repeated header as an array: the first one counts.
  if (Array.isArray(v)) v = v[0];
  if (typeof v === "number") return v >= 0 && Number.isFinite(v) ? v * 1000 : Number.NaN;
  let at: number;
  if (v instanceof Date) at = v.getTime();
  else if (typeof v !== "string") return Number.NaN;
  else if (DELAY_SECONDS.test(v)) return Number(v) * 1000;
  // An HTTP date names its day and month; anything else Date.parse takes ("-3": the year −3) is none.
  else if (!/[a-z]/i.test(v)) return Number.NaN;
  else at = Date.parse(v);
  return Number.isNaN(at) ? Number.NaN : Math.max(0, at - Date.now());
}
