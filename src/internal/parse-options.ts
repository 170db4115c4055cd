import { z } from "zod";
import { FlowConfigError } from "../errors.js";
import { describeThrown, describeValue } from "./describe.js";
import { type ReadProblem, readArray, readOptionsObject } from "./read-value.js";

/**
 * A zod check with a plain-words expectation, used for every option field. A predicate that
 * throws (it met a hostile Proxy) fails the check instead.
 */
export function check<T>(predicate: (value: unknown) => boolean, expected: string): z.ZodType<T, T> {
  return z.custom<T>(
    (value) => {
      try {
        return predicate(value);
      } catch {
        return false;
      }
    },
    { error: expected },
  );
}

/** An issue at `path` (relative to where the check runs): `input` is the bad value, `expected` what it should be. */
export function issue(
  path: string | readonly PropertyKey[],
  input: unknown,
  expected: string,
): z.core.$ZodRawIssue {
  return { code: "custom", input, path: typeof path === "string" ? [path] : [...path], message: expected };
}

/** The issue, if any, of a count `name` = `value` above `limitName` = `limit` (minWorkers above maxWorkers, …). */
export function notAbove(
  name: string,
  value: number,
  limitName: string,
  limit: number,
): z.core.$ZodRawIssue[] {
  return value > limit ? [issue(name, value, `≤ ${limitName} (${limit})`)] : [];
}

/** Marks the issues raised while reading a value rather than judging it. */
const READ = "flowrhythm.read";

/** A zod issue for a {@link ReadProblem}, at `path` (relative to where the check runs). */
export function readIssue(
  problem: ReadProblem,
  input: unknown,
  path: PropertyKey[] = [],
): z.core.$ZodRawIssue {
  const key =
    (problem.kind === "unreadable" || problem.kind === "hole") && problem.key !== undefined
      ? [problem.key]
      : [];
  return {
    code: "custom",
    message: "an options object ({ name: value, … })",
    input,
    path: [...path, ...key],
    params: { [READ]: problem },
  };
}

/** The schema type of {@link optionsObject}: what a strict object of `S` takes and gives. */
export type OptionsSchema<S extends z.core.$ZodLooseShape> = z.ZodType<
  z.output<z.ZodObject<S, z.core.$strict>>,
  z.input<z.ZodObject<S, z.core.$strict>>
>;

/** What an options object of shape `S` accepts: the type users write, with each field's docs. */
export type OptionsInput<S extends z.core.$ZodLooseShape> = z.input<OptionsSchema<S>>;

/**
 * An options object: a plain object with exactly the keys of `shape`, each read once (see
 * {@link readOptionsObject}) before any field is checked. A Map, a Date, a class instance, an
 * array, a string, or an object with a symbol key is refused; a getter or Proxy trap that throws
 * is reported as the option that could not be read.
 */
export function optionsObject<S extends z.core.$ZodLooseShape>(shape: S): OptionsSchema<S> {
  return z.preprocess((value, ctx) => {
    const read = readOptionsObject(value);
    if (read.ok) return read.value;
    ctx.issues.push(readIssue(read.problem, value));
    // Not the value itself: zod would probe it (`instanceof Promise`), and a hostile Proxy throws.
    return undefined;
  }, z.strictObject(shape)) as unknown as OptionsSchema<S>;
}

/** An array option, read once element by element (a hole is an issue), each element checked by `item`. */
export function optionsArray<T extends z.ZodType>(item: T) {
  return z.preprocess((value, ctx) => {
    const read = readArray(value);
    if (read.ok) return read.value;
    ctx.issues.push(
      read.problem.kind === "notObject"
        ? { code: "custom", message: "an array", input: value, path: [] }
        : readIssue(read.problem, value),
    );
    return undefined;
  }, z.array(item)) as unknown as z.ZodType<z.output<T>[], z.input<T>[]>;
}

/** Where the error says it happened: a fixed label, or one made from the options as read (a stage's name). */
export type Where = string | ((options: Readonly<Record<string, unknown>>) => string);

/**
 * Validates an options object once, at the boundary, and returns it with its defaults filled in.
 * `undefined` reads as `{}`. On failure throws {@link FlowConfigError} naming `where`, the
 * option, the bad value and what was expected; `cause` is the error user code threw while the
 * options were read, else the zod error.
 */
export function parseOptions<O, I>(schema: z.ZodType<O, I>, input: unknown, where: Where): O {
  const read = readOptionsObject(input === undefined ? {} : input);
  if (!read.ok) {
    const label = typeof where === "string" ? where : where({});
    throw report(label, [readIssue(read.problem, input) as z.core.$ZodIssue], undefined);
  }
  const label = typeof where === "string" ? where : where(read.value);
  const result = schema.safeParse(read.value, { reportInput: true });
  if (result.success) return result.data;
  throw report(label, result.error.issues, result.error);
}

/** The read problem an issue stands for, if it stands for one. */
function readProblemOf(issue: z.core.$ZodIssue): ReadProblem | undefined {
  return (issue as { params?: Record<string, ReadProblem> }).params?.[READ];
}

/** One line per issue, the first naming the option the error carries. */
function report(where: string, issues: readonly z.core.$ZodIssue[], zodError: unknown): FlowConfigError {
  const parts: string[] = [];
  let first: string | undefined;
  let thrown: unknown;
  const add = (issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): void => {
    const at = [...prefix, ...issue.path];
    const path = at.map(String).join(".");
    const problem = readProblemOf(issue);
    if (problem) {
      const line = readLine(problem, path, issue.input);
      first ??= line.option;
      if (problem.kind === "unreadable") thrown ??= problem.error;
      parts.push(line.text);
      return;
    }
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const option = path ? `${path}.${key}` : key;
        first ??= option;
        const value = (issue.input as Record<string, unknown> | undefined)?.[key];
        parts.push(`unknown option "${option}" = ${describeValue(value)}`);
      }
      return;
    }
    if (issue.code === "invalid_union") {
      // A value that got into one branch (an object form's field, or a read that failed) is
      // reported from there; one that fits no branch at all, with the union's expectation.
      const reached = (i: z.core.$ZodIssue) => {
        const read = readProblemOf(i);
        return i.path.length > 0 || (read !== undefined && read.kind !== "notObject");
      };
      const inner = issue.errors.find((branch) => branch.length > 0 && branch.every(reached));
      if (inner) {
        for (const i of inner) add(i, at);
        return;
      }
    }
    const got = describeValue(issue.input);
    if (!path) {
      first ??= "options";
      parts.push(`options = ${got}: expected an options object ({ name: value, … })`);
      return;
    }
    first ??= path;
    parts.push(`option "${path}" = ${got}: expected ${issue.message}`);
  };
  for (const issue of issues) add(issue, []);
  const cause = thrown ?? zodError;
  return new FlowConfigError(`${where}: ${parts.join("; ")}`, {
    ...(cause === undefined ? {} : { cause }),
    ...(first === undefined ? {} : { option: first }),
  });
}

/**
 * The error for a positional argument (`arms`, `branches`) that could not be read as a whole:
 * `option` names the argument, `expected` what it should have been.
 */
export function readError(
  where: string,
  option: string,
  problem: ReadProblem,
  input: unknown,
  expected: string,
): FlowConfigError {
  const key = (problem.kind === "unreadable" || problem.kind === "hole") && problem.key !== undefined;
  const path = key ? `${option}.${problem.key}` : option;
  const line =
    problem.kind === "notObject"
      ? { option, text: `${option} = ${describeValue(input)}: expected ${expected}` }
      : readLine(problem, path, input);
  return new FlowConfigError(`${where}: ${line.text}`, {
    option: line.option,
    ...(problem.kind === "unreadable" ? { cause: problem.error } : {}),
  });
}

function readLine(problem: ReadProblem, path: string, input: unknown): { option: string; text: string } {
  const name = (option: string): string => (option ? `option "${option}"` : "options");
  switch (problem.kind) {
    case "notObject":
      return {
        option: path || "options",
        text: `${name(path)} = ${describeValue(input)}: expected an options object ({ name: value, … })`,
      };
    case "symbolKey": {
      const option = path ? `${path}.${problem.key.toString()}` : problem.key.toString();
      return {
        option,
        text: `option ${problem.key.toString()}${path ? ` of "${path}"` : ""}: expected string keys only (a symbol key is not an option)`,
      };
    }
    case "unreadable":
      return {
        option: path || "options",
        text: `${name(path)} could not be read: ${problem.operation} threw ${describeThrown(problem.error)}`,
      };
    case "hole":
      return { option: path, text: `${name(path)} is a hole in a sparse array: expected a value there` };
  }
}
