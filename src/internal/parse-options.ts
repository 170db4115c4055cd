import { z } from "zod";
import { describeValue, FlowConfigError } from "./flow-config-error.js";

/** A zod check with a plain-words expectation, used for every option field. */
export function check<T>(predicate: (value: unknown) => boolean, expected: string): z.ZodType<T> {
  return z.custom<T>((value) => predicate(value), { error: expected });
}

export const isFn = (v: unknown): boolean => typeof v === "function";

/** A stage or shape name: a non-empty string. */
export const nameCheck = (): z.ZodType<string> =>
  check<string>((v) => typeof v === "string" && v.length > 0, "a non-empty string");
export const isInt = (min: number) => (v: unknown) => Number.isInteger(v) && (v as number) >= min;
export const isFiniteNumber =
  (min: number, max = Number.POSITIVE_INFINITY) =>
  (v: unknown) =>
    typeof v === "number" && Number.isFinite(v) && v >= min && v <= max;

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/**
 * Validates an option object once, at the boundary. On failure throws {@link FlowConfigError}
 * naming `where`, the option, the bad value and what was expected, with the zod error as `cause`.
 */
export function parseOptions<T>(schema: z.ZodType<T>, input: unknown, where: string): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const parts: string[] = [];
  let first: string | undefined;
  for (const issue of result.error.issues) {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const option = path ? `${path}.${key}` : key;
        first ??= option;
        parts.push(`unknown option "${option}" = ${describeValue(valueAt(input, [...issue.path, key]))}`);
      }
      continue;
    }
    const got = describeValue(valueAt(input, issue.path));
    if (!path) {
      first ??= "options";
      parts.push(`options = ${got}: expected an options object`);
      continue;
    }
    first ??= path;
    // A nested options object (say `retry`) given as something else.
    const expected =
      issue.code === "invalid_type" && issue.expected === "object" ? "an options object" : issue.message;
    parts.push(`option "${path}" = ${got}: expected ${expected}`);
  }
  throw new FlowConfigError(`${where}: ${parts.join("; ")}`, {
    cause: result.error,
    ...(first === undefined ? {} : { option: first }),
  });
}
