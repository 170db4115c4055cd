import { check, type OptionsInput, optionsObject, parseOptions } from "../internal/parse-options.js";

/** How items cross between processes: to a string and back. */
export interface Codec {
  /** Turns an item into what is stored in Redis; throws when the item cannot cross. */
  encode(value: unknown): string;
  /** Turns what was stored back into the item. Never executes or imports what it reads. */
  decode(text: string): unknown;
}

const isCodec = (v: unknown): boolean =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as Codec).encode === "function" &&
  typeof (v as Codec).decode === "function";

const intIn = (min: number, max: number, unit = "") =>
  check<number>(
    (v) => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max,
    `an integer from ${min.toLocaleString("en")} to ${max.toLocaleString("en")}${unit}`,
  );

/** Stage and flow names that go into Redis keys and BullMQ queue names (no `:`, no spaces). */
export const KEY_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

const distributeShape = {
  /**
   * The Redis connection: ioredis options (`host`, `port`, `username`, `password`, `tls`, `db`, …),
   * passed through to BullMQ as they are. `maxRetriesPerRequest` is set to `null`, as BullMQ's
   * workers need.
   */
  connection: check<Record<string, unknown>>(
    (v) => typeof v === "object" && v !== null && !Array.isArray(v),
    "ioredis connection options ({ host, port, password, tls, … })",
  ),
  /** The top-level stages whose input queues live in Redis, by name; `"all"` for every one. */
  remote: check<readonly string[] | "all">(
    (v) => v === "all" || (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === "string")),
    'a non-empty array of stage names, or "all"',
  ),
  /** The prefix of every Redis key the flow uses (BullMQ's `prefix`). Default `"flowrhythm"`. */
  prefix: check<string>(
    (v) => typeof v === "string" && KEY_NAME.test(v),
    "a string of letters, digits, _ . -",
  ).optional(),
  /** Items to and from Redis. Default: JSON, refusing what does not survive the round trip. */
  codec: check<Codec>(isCodec, "{ encode(value) => string, decode(text) => value }").optional(),
  /**
   * How long a process holds an item's job before another may take it over (BullMQ's lock,
   * extended while the item is held). Default 30,000 ms: a process that dies has its items
   * redelivered after at most this long.
   */
  lockMs: intIn(1_000, 86_400_000, " (milliseconds; BullMQ renews a lock at a quarter of it)").optional(),
  /**
   * How many times an item may lose its process (its lock expired) before it fails for good
   * (`TransformerError`, "stalled"): a guard against an item that kills whoever runs it. Default 2.
   */
  maxStalledCount: intIn(0, 1_000).optional(),
  /**
   * How many jobs of one remote stage a process holds at once (its local queue). Default: twice the
   * most workers the stage may run (its strategy's `maxWorkers`), from 2 to 256.
   */
  prefetch: intIn(1, 4_096).optional(),
  /**
   * How long a run's keys (its outcomes and counts) stay in Redis after the feeder last renewed
   * them (every 5 s while the run goes on, and at its end). Default 3,600 s; at least 60.
   */
  keepRunSeconds: intIn(60, 2_592_000, " (seconds; the feeder renews them every 5 s)").optional(),
  /** Whether the feeding process serves the remote stages too. Default true. */
  serve: check<boolean>((v) => typeof v === "boolean", "true or false").optional(),
};

/** Options of {@link distribute}. */
export interface DistributeOptions extends OptionsInput<typeof distributeShape> {}

/** {@link DistributeOptions} with every default filled in. */
export interface DistributeSettings {
  readonly connection: Record<string, unknown>;
  readonly remote: readonly string[] | "all";
  readonly prefix: string;
  readonly codec: Codec | null;
  readonly lockMs: number;
  readonly maxStalledCount: number;
  readonly prefetch: number | null;
  readonly keepRunSeconds: number;
  readonly serve: boolean;
}

/** Validates `distribute(flow, options)`. */
export function parseDistributeOptions(options: unknown): DistributeSettings {
  const o = parseOptions(optionsObject(distributeShape), options, "distribute");
  return {
    connection: o.connection,
    remote: o.remote,
    prefix: o.prefix ?? "flowrhythm",
    codec: o.codec ?? null,
    lockMs: o.lockMs ?? 30_000,
    maxStalledCount: o.maxStalledCount ?? 2,
    prefetch: o.prefetch ?? null,
    keepRunSeconds: o.keepRunSeconds ?? 3_600,
    serve: o.serve ?? true,
  };
}

const flag = () => check<boolean>((v) => typeof v === "boolean", "true or false").optional();
const abortSignal = () => check<AbortSignal>((v) => v instanceof AbortSignal, "an AbortSignal").optional();

/** Validates `distributed.run(source, options)`. */
export function parseRunRemoteOptions(options: unknown): {
  signal?: AbortSignal | undefined;
  total?: number | undefined;
  handleSignals?: boolean | undefined;
} {
  return parseOptions(
    optionsObject({
      signal: abortSignal(),
      total: check<number>(
        (v) => typeof v === "number" && Number.isInteger(v) && v >= 0,
        "an integer ≥ 0",
      ).optional(),
      handleSignals: flag(),
    }),
    options,
    "run",
  );
}

/** Validates `distributed.serve(options)`. */
export function parseServeOptions(options: unknown): {
  signal?: AbortSignal | undefined;
  handleSignals?: boolean | undefined;
} {
  return parseOptions(optionsObject({ signal: abortSignal(), handleSignals: flag() }), options, "serve");
}
