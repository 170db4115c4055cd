import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AdaptiveScaling,
  type AdaptiveScalingOptions,
  type BatchOptions,
  batch,
  type DrainOptions,
  type DumpOptions,
  FixedScaling,
  type FixedScalingOptions,
  Flow,
  FlowConfigError,
  type FlowOptions,
  fanOut,
  flow,
  LatencyBudgetScaling,
  type LatencyBudgetScalingOptions,
  MAX_WORKERS,
  perWorker,
  type PushOptions,
  type RunOptions,
  type RouterOptions,
  router,
  type SignalOptions,
  type StageOptions,
  systemClock,
  TargetUtilizationScaling,
  type TargetUtilizationScalingOptions,
  ThroughputScaling,
  type ThroughputScalingOptions,
  UtilizationScaling,
  type UtilizationScalingOptions,
  VirtualClock,
} from "../../../src/index.js";
import {
  type Phase,
  type Scenario,
  parseScenario,
  type SimulateOptions,
  simulate,
  FifoSemaphore,
  STRATEGY_NAMES,
  strategyFor,
} from "../../../src/simulate/index.js";
import { withHole } from "../../helpers.js";

/**
 * Generated bad input: every option of every options object, and every positional argument of
 * every public call, fed values that are wrong for it by construction — throwing getters, Proxies
 * whose traps throw, revoked Proxies, symbol keys, BigInt, huge / negative / fractional / NaN
 * numbers, exotic objects (Map, Date, RegExp, typed arrays, class instances), classes and
 * functions where values are expected, and the reverse. Each must be a FlowConfigError whose
 * `option` names what was wrong (or something inside it) and whose message says its name: never a
 * raw TypeError from deep inside.
 */

const MAX_MS = 2 ** 31 - 1;
const RUNS = 40;

/** What an option takes, as documented; the generators make values outside it. */
type Spec = { readonly ok: unknown } & (
  | { kind: "ms"; min?: number; above?: boolean; max?: number; infinity?: boolean }
  | { kind: "int"; min: number; max?: number; infinity?: boolean }
  | { kind: "num"; min: number; max: number; openMin?: boolean; openMax?: boolean }
  | { kind: "bool" | "fn" | "name" | "string" | "strategy" | "clock" | "signal" | "stage" }
  | { kind: "enum"; values: readonly string[] }
  | {
      kind: "object";
      fields: Fields;
      base?: Record<string, unknown>;
      orBool?: boolean;
      orEnum?: readonly string[];
    }
  | { kind: "array"; item: Extract<Spec, { kind: "object" }> }
);
type Fields = Readonly<Record<string, Spec>>;
/** Every option of `T`, each with its spec: a new option is a type error here until it is covered. */
type SpecsOf<T> = { readonly [K in keyof T]-?: Spec };

const id = (x: unknown) => x;
const strategyOk = () => new FixedScaling({ workers: 2 });

const ms = (o: Omit<Extract<Spec, { kind: "ms" }>, "kind" | "ok"> = {}, ok = 5): Spec => ({
  kind: "ms",
  ok,
  ...o,
});
const int = (min: number, max?: number, o: { infinity?: boolean } = {}): Spec => ({
  kind: "int",
  min,
  ...(max === undefined ? {} : { max }),
  ...o,
  ok: min === 0 ? 0 : min,
});
const workers = (min: number) => int(min, MAX_WORKERS);
const num = (
  min: number,
  max: number,
  o: { openMin?: boolean; openMax?: boolean } = {},
  ok?: number,
): Spec => ({
  kind: "num",
  min,
  max,
  ...o,
  ok: ok ?? (o.openMin ? (max === Number.POSITIVE_INFINITY ? min + 1 : (min + max) / 2) : min),
});
const bool: Spec = { kind: "bool", ok: false };
const fn: Spec = { kind: "fn", ok: () => undefined };
const name: Spec = { kind: "name", ok: "n" };
const strategy: Spec = { kind: "strategy", ok: null };
const object = (
  fields: Fields,
  o: Partial<Extract<Spec, { kind: "object" }>> = {},
): Extract<Spec, { kind: "object" }> => ({
  kind: "object",
  fields,
  ok: o.base ?? {},
  ...o,
});

const stageSpecs: SpecsOf<StageOptions> = {
  name,
  scalingStrategy: strategy,
  queueSize: int(1, undefined, { infinity: true }),
  queue: object({ priority: fn }, { orEnum: ["fifo", "lifo"], base: { priority: () => 0 } }),
  ordered: bool,
  retry: object({
    attempts: int(1),
    backoff: object({
      baseMs: ms({}, 0),
      maxMs: ms({}, 50_000),
      factor: num(1, Number.POSITIVE_INFINITY),
      jitter: num(0, 1),
    }),
    retryOn: fn,
  }),
  timeoutMs: ms({ above: true }),
  deadLetter: fn,
  overloadOn: fn,
  rateLimit: object(
    { perSecond: num(0, Number.POSITIVE_INFINITY, { openMin: true }), burst: int(1) },
    { base: { perSecond: 10 } },
  ),
};

const flowSpecs: SpecsOf<FlowOptions> = {
  name,
  defaultScalingStrategy: strategy,
  clock: { kind: "clock", ok: systemClock },
  random: fn,
  maxTotalWorkers: workers(1),
  maxThreads: workers(1),
  tickMs: ms({ min: 1 }),
  statsIntervalMs: ms({ min: 1 }),
  statsWindowMs: ms({ min: 1 }),
  timingSampleEvery: int(1),
  errorHandler: fn,
  deadLetter: fn,
  handlerTimeoutMs: ms({ min: 1 }),
  closeTimeoutMs: ms(),
  handleSignals: object({ exit: bool }, { orBool: true }),
};

const policySpecs = {
  minWorkers: workers(0),
  maxWorkers: workers(1),
  initialWorkers: { ...workers(0), ok: 1 },
  tolerance: num(0, 1),
  downStabilizationMs: ms({ max: 3_600_000 }),
  maxGrowthPercent: num(0, Number.POSITIVE_INFINITY),
  maxGrowthWorkers: workers(0),
  growthPeriodMs: ms({ above: true }),
  cooldownMs: ms(),
  dampening: num(0, 1),
  blockedGuard: bool,
  kneeGuard: bool,
  slowStart: bool,
  kneeEta: num(0, 10, { openMin: true }),
  kneeHoldMs: ms(),
  idleShrinkMs: ms(),
  overloadDecrease: num(0, 1, { openMin: true }),
} satisfies Fields;

const utilizationSpecs: SpecsOf<UtilizationScalingOptions> = {
  minWorkers: workers(0),
  maxWorkers: workers(1),
  lowerUtilization: num(0, 1, {}, 0.1),
  upperUtilization: num(0, 1, {}, 0.9),
  upscalingRate: workers(1),
  downscalingRate: workers(1),
  cooldownMs: ms(),
  dampening: num(0, 1),
  samplingPeriodMs: ms({ above: true }),
  samplingEvents: int(1),
};

const phase = object(
  {
    durationS: num(0, 86_400, { openMin: true }, 0.05),
    rate: num(0, Number.POSITIVE_INFINITY, {}, 100),
    rateTo: num(0, Number.POSITIVE_INFINITY, {}, 100),
    serviceMs: ms({ above: true }),
    xOpt: num(0, Number.POSITIVE_INFINITY),
    nRef: workers(1),
    nRefTo: workers(1),
  } satisfies SpecsOf<Phase>,
  { base: { durationS: 0.05, rate: 100, nRef: 1 } },
);
const scenarioBase = { id: "tiny", phases: [{ durationS: 0.05, rate: 100, nRef: 1 }] };
const scenarioSpecs: SpecsOf<Scenario> = {
  id: name,
  title: { kind: "string", ok: "t" },
  phases: { kind: "array", item: phase, ok: scenarioBase.phases },
  serviceMs: ms({ above: true }),
  service: { kind: "enum", values: ["constant", "exponential", "lognormal", "pareto"], ok: "constant" },
  serviceCv: num(0, 100),
  queueSize: int(1),
  dependencySlots: int(1),
  downstream: object(
    { workers: workers(1), serviceMs: ms({ above: true }), queueSize: int(1) },
    { base: { workers: 1, serviceMs: 1, queueSize: 4 } },
  ),
  batchItems: int(1),
  overload: object({ maxInFlight: int(1), failMs: ms() }, { base: { maxInFlight: 1 } }),
  retryAttempts: int(1),
  latencyPerInFlightMs: ms(),
  startupMs: ms(),
  initialWorkers: workers(1),
  maxWorkers: workers(1),
};

/** An entry point taking an options object: its call, its required options, and every option. */
interface Entry {
  readonly call: string;
  readonly run: (options: unknown) => unknown;
  readonly base: Record<string, unknown>;
  readonly fields: Fields;
}

const entry = <T>(
  call: string,
  run: (o: unknown) => unknown,
  fields: SpecsOf<T>,
  base: Record<string, unknown> = {},
): Entry => ({
  call,
  run,
  base,
  fields: fields as Fields,
});
const flowWithStage = () => new Flow().addTransformer(id, { name: "s" });

const ENTRIES: Entry[] = [
  entry<FlowOptions>("new Flow(options)", (o) => new Flow(o as never), flowSpecs),
  entry<StageOptions>(
    "addTransformer(fn, options)",
    (o) => new Flow().addTransformer(id, o as never),
    stageSpecs,
  ),
  entry<StageOptions>("setConsumer(fn, options)", (o) => new Flow().setConsumer(id, o as never), stageSpecs),
  entry<StageOptions>(
    "configure(name, options)",
    (o) => flowWithStage().configure("s", o as never),
    stageSpecs,
  ),
  entry<DrainOptions>("drain(options)", (o) => new Flow().drain(o as never), { timeoutMs: ms() }),
  entry<SignalOptions>("handleSignals(options)", (o) => new Flow().handleSignals(o as never), { exit: bool }),
  entry<RunOptions>("run(source, options)", (o) => new Flow().setConsumer(id).run([1], o as never), {
    signal: { kind: "signal", ok: new AbortController().signal },
    total: int(0),
  }),
  entry<PushOptions>(
    "push(options)",
    (o) =>
      void new Flow()
        .setConsumer(id)
        .push(o as never)
        .complete(),
    { maxWaitingSends: int(1) },
  ),
  entry<DumpOptions>("dump(options)", (o) => flowWithStage().dump(o as never), {
    mode: { kind: "enum", values: ["structure", "stats"], ok: "structure" },
    format: { kind: "enum", values: ["text", "json", "mermaid"], ok: "text" },
  }),
  entry<BatchOptions>(
    "batch(fn, options)",
    (o) => batch(id as never, o as never),
    { size: int(1), flushMs: ms({ above: true, infinity: true }), name },
    { size: 2 },
  ),
  entry<RouterOptions<unknown>>("router(classify, arms, options)", (o) => router(id, { a: id }, o as never), {
    default: { kind: "stage", ok: id },
    name,
  }),
  entry<{ name?: string }>("fanOut(branches, merge, options)", (o) => fanOut([id], id, o as never), { name }),
  entry<FixedScalingOptions>(
    "new FixedScaling(options)",
    (o) => new FixedScaling(o as never),
    { workers: workers(1) },
    { workers: 1 },
  ),
  entry<UtilizationScalingOptions>(
    "new UtilizationScaling(options)",
    (o) => new UtilizationScaling(o as never),
    utilizationSpecs,
  ),
  entry<AdaptiveScalingOptions>("new AdaptiveScaling(options)", (o) => new AdaptiveScaling(o as never), {
    ...policySpecs,
    headroom: num(0, 10),
    targetQueueWaitMs: ms({ above: true }),
  }),
  entry<TargetUtilizationScalingOptions>(
    "new TargetUtilizationScaling(options)",
    (o) => new TargetUtilizationScaling(o as never),
    {
      ...policySpecs,
      target: num(0, 1, { openMin: true }),
    },
  ),
  entry<ThroughputScalingOptions>(
    "new ThroughputScaling(options)",
    (o) => new ThroughputScaling(o as never),
    {
      ...policySpecs,
      step: num(0, 10, { openMin: true }),
    },
  ),
  entry<LatencyBudgetScalingOptions>(
    "new LatencyBudgetScaling(options)",
    (o) => new LatencyBudgetScaling(o as never),
    {
      ...policySpecs,
      latencyBudgetMs: ms({ above: true }),
      decrease: num(0, 1, { openMin: true, openMax: true }),
      decreaseEveryMs: ms(),
    },
    { latencyBudgetMs: 10 },
  ),
  entry<{ gridMs?: number }>("new VirtualClock(startMs, options)", (o) => new VirtualClock(0, o as never), {
    gridMs: ms({ above: true }),
  }),
  entry<Scenario>("parseScenario(scenario)", (o) => parseScenario(o), scenarioSpecs, scenarioBase),
  entry<SimulateOptions>(
    "simulate(scenario, strategy, options)",
    (o) => simulate(scenarioBase, strategyOk(), o as never),
    {
      seed: int(0, 2 ** 32 - 1),
      realtime: bool,
    },
  ),
];

// ---- hostile values --------------------------------------------------------------------------

/**
 * A value to hand over, made only when the property runs: fast-check looks into the values it
 * generates, and a hostile Proxy would throw at fast-check instead of at the code under test.
 */
interface Made {
  readonly label: string;
  make(): unknown;
  [fc.toStringMethod](): string;
}
const made = (label: string, make: () => unknown): Made => ({
  label,
  make,
  [fc.toStringMethod]: () => label,
});
const plainly = (arb: fc.Arbitrary<unknown>): fc.Arbitrary<Made> =>
  arb.map((v) => made(describeHow(v), () => v));
const constants = (...values: unknown[]): fc.Arbitrary<Made> => plainly(fc.constantFrom(...values));

const TRAPS = [
  "getPrototypeOf",
  "ownKeys",
  "get",
  "has",
  "getOwnPropertyDescriptor",
  "defineProperty",
  "set",
  "deleteProperty",
  "isExtensible",
  "preventExtensions",
  "setPrototypeOf",
];
/** A Proxy every trap of which throws, and a revoked one: any look inside throws. */
const hostileProxy = fc.constantFrom("all traps", "revoked").map((how) =>
  made(`a Proxy (${how})`, () => {
    if (how === "revoked") {
      const r = Proxy.revocable({}, {});
      r.revoke();
      return r.proxy;
    }
    const handler = Object.fromEntries(
      TRAPS.map((t) => [
        t,
        () => {
          throw new TypeError(`trap ${t}`);
        },
      ]),
    );
    return new Proxy({}, handler);
  }),
);
class Custom {
  readonly x = 1;
}
const exoticMakers: Record<string, () => unknown> = {
  Map: () => new Map([["a", 1]]),
  Set: () => new Set([1]),
  Date: () => new Date(0),
  RegExp: () => /x/,
  Uint8Array: () => new Uint8Array(2),
  ArrayBuffer: () => new ArrayBuffer(2),
  Error: () => new Error("an error"),
  WeakMap: () => new WeakMap(),
  "class instance": () => new Custom(),
  Promise: () => Promise.resolve(1),
};
const exotic = fc.constantFrom(...Object.keys(exoticMakers)).map((k) => made(`a ${k}`, exoticMakers[k]!));
const notIterable = fc
  .constantFrom("Date", "RegExp", "Error", "WeakMap", "class instance", "Promise")
  .map((k) => made(`a ${k}`, exoticMakers[k]!));
const sparse = fc.constant(made("a sparse array", () => withHole(1, 1)));
/** Wrong for every kind of option. */
/** Wrong wherever a value is expected: not even an object one could look into. */
const oddities = fc.oneof(
  constants(null, Number.NaN, Number.NEGATIVE_INFINITY, Symbol("sym"), Custom),
  plainly(fc.bigInt()),
  hostileProxy,
);
const universal = fc.oneof(oddities, exotic, plainly(fc.array(fc.integer(), { maxLength: 3 })), sparse);
const strings = plainly(fc.string());
const numbers = plainly(fc.oneof(fc.double(), fc.integer()));
const booleans = plainly(fc.boolean());
const plain = constants({}, { a: 1 });
const fns = constants(
  () => 1,
  function named() {},
);

const inRange = (s: Extract<Spec, { kind: "ms" | "int" | "num" }>, v: number): boolean => {
  if (s.kind === "ms") {
    if (v === Number.POSITIVE_INFINITY) return s.infinity === true;
    const min = s.min ?? 0;
    return v >= min && v <= (s.max ?? MAX_MS) && !(s.above && v === min);
  }
  if (s.kind === "int") {
    if (v === Number.POSITIVE_INFINITY) return s.infinity === true;
    return Number.isInteger(v) && v >= s.min && v <= (s.max ?? Number.MAX_SAFE_INTEGER);
  }
  return (
    Number.isFinite(v) &&
    v >= s.min &&
    v <= s.max &&
    !(s.openMin && v === s.min) &&
    !(s.openMax && v === s.max)
  );
};

const HOOKS = { initialWorkers: () => 1, onEnqueue: () => 0, onDequeue: () => 0 };
function badStrategy(): fc.Arbitrary<Made> {
  const limit = fc.oneof(
    fc.constantFrom<unknown>(1e9, 2 ** 53, -1, 1.5, "8", Number.NaN, Number.POSITIVE_INFINITY),
    fc.bigInt(),
  );
  return fc.oneof(
    constants(
      { initialWorkers: () => 1 },
      { ...HOOKS, onDequeue: 0 },
      { ...HOOKS, onTick: "tick" },
      { ...HOOKS, minWorkers: 5, maxWorkers: 2 },
      { ...HOOKS, initialWorkers: class Initial {} },
    ),
    plainly(limit.map((maxWorkers) => ({ ...HOOKS, maxWorkers }))),
    plainly(limit.map((minWorkers) => ({ ...HOOKS, minWorkers }))),
    fc.constantFrom("minWorkers", "maxWorkers", "onEnqueue", "clone").map((key) =>
      made(`a strategy whose ${key} getter throws`, () =>
        Object.defineProperty({ ...HOOKS }, key, {
          enumerable: true,
          get: () => {
            throw new RangeError(`${key} getter`);
          },
        }),
      ),
    ),
  );
}

/** Values that are wrong for `spec`, by what it documents. */
function hostile(spec: Spec): fc.Arbitrary<Made> {
  switch (spec.kind) {
    case "ms":
    case "int":
    case "num": {
      const edges = fc.constantFrom(
        0,
        -1,
        -0.5,
        0.5,
        1.5,
        MAX_MS,
        MAX_MS + 1,
        2 ** 31,
        2 ** 53,
        1e9,
        1e300,
        MAX_WORKERS + 1,
        Number.POSITIVE_INFINITY,
        Number.MIN_VALUE,
      );
      const bad = plainly(fc.oneof(fc.double(), fc.integer(), edges).filter((v) => !inRange(spec, v)));
      return fc.oneof(bad, universal, strings, booleans, plain, fns);
    }
    case "bool":
      return fc.oneof(universal, numbers, strings, plain, fns);
    case "fn":
      return fc.oneof(universal, numbers, strings, booleans, plain);
    case "name":
      return fc.oneof(universal, constants(""), numbers, booleans, plain, fns);
    case "string":
      return fc.oneof(universal, numbers, booleans, plain, fns);
    case "enum":
      return fc.oneof(
        universal,
        plainly(fc.string().filter((s) => !spec.values.includes(s))),
        numbers,
        booleans,
        plain,
        fns,
      );
    case "strategy":
      return fc.oneof(universal, numbers, strings, booleans, plain, fns, badStrategy());
    case "clock":
      return fc.oneof(universal, numbers, strings, booleans, plain, fns, constants({ now: () => 0 }));
    case "signal":
      return fc.oneof(universal, numbers, strings, booleans, plain, fns, constants({ aborted: false }));
    case "stage":
      return fc.oneof(universal, numbers, strings, booleans, plain);
    case "object":
      return fc.oneof(
        universal,
        numbers,
        spec.orEnum ? plainly(fc.string().filter((s) => !spec.orEnum!.includes(s))) : strings,
        ...(spec.orBool ? [] : [booleans]),
        fns,
      );
    case "array":
      return fc.oneof(oddities, exotic, sparse, numbers, strings, plain, fns);
  }
}

// ---- placing a value ---------------------------------------------------------------------------

/** How a value is handed over at its key: as data, behind a getter that throws, or behind a Proxy trap that throws. */
type Placement = "data" | "getter" | "trap";

function place(
  target: Record<string, unknown>,
  key: string,
  value: unknown,
  how: Placement,
): Record<string, unknown> {
  if (how === "data") return { ...target, [key]: value };
  if (how === "getter")
    return Object.defineProperty({ ...target }, key, {
      enumerable: true,
      get: () => {
        throw new TypeError(`getter of ${key}`);
      },
    });
  return new Proxy(
    { ...target, [key]: value },
    {
      get: (t, k, r) => {
        if (k === key) throw new TypeError(`trap for ${key}`);
        return Reflect.get(t, k, r);
      },
    },
  );
}

/** One option somewhere inside an entry's options: its dotted path, its spec, and how to build options around it. */
interface Site {
  readonly entry: Entry;
  readonly path: readonly string[];
  readonly spec: Spec;
  /** The entry's options with `value` placed (as `how` says) at this site. */
  build(value: unknown, how: Placement): unknown;
}

function sites(e: Entry): Site[] {
  const out: Site[] = [];
  const walk = (
    fields: Fields,
    base: Record<string, unknown>,
    path: string[],
    wrap: (inner: Record<string, unknown>) => unknown,
  ): void => {
    for (const [key, spec] of Object.entries(fields)) {
      const here = [...path, key];
      out.push({ entry: e, path: here, spec, build: (value, how) => wrap(place(base, key, value, how)) });
      if (spec.kind === "object") {
        const inner = spec.base ?? {};
        walk(spec.fields, inner, here, (o) => wrap({ ...base, [key]: o }));
      } else if (spec.kind === "array") {
        const item = spec.item;
        walk(item.fields, item.base ?? {}, [...here, "0"], (o) => wrap({ ...base, [key]: [o] }));
      }
    }
  };
  walk(e.fields, e.base, [], (o) => o);
  return out;
}

async function thrownBy(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The error must be a FlowConfigError naming `option` (or something inside it), by name, in its message. */
function expectNamed(error: unknown, option: string, what: string): void {
  if (!(error instanceof FlowConfigError))
    throw new Error(
      `${what}: expected a FlowConfigError naming "${option}", got ${error instanceof Error ? error.stack : String(error)}`,
    );
  const named = error.option === option || (error.option ?? "").startsWith(`${option}.`);
  if (!named)
    throw new Error(`${what}: the error names "${error.option}", not "${option}": ${error.message}`);
  expect(error.message).toContain(error.option!.split(".").pop());
}

const describeHow = (value: unknown): string => {
  try {
    return typeof value === "symbol"
      ? value.toString()
      : typeof value === "bigint"
        ? `${value}n`
        : (JSON.stringify(value) ?? String(value));
  } catch {
    return Object.prototype.toString.call(value);
  }
};

const ALL_SITES = ENTRIES.flatMap(sites);

describe("generated bad input: every option of every options object", () => {
  it("covers every option (and the nested ones)", () => {
    expect(ALL_SITES.length).toBeGreaterThan(150);
  });

  it.each(ALL_SITES.map((s) => [`${s.entry.call}: ${s.path.join(".")}`, s] as const))(
    "%s",
    async (_label, site) => {
      const option = site.path.join(".");
      await fc.assert(
        fc.asyncProperty(
          hostile(site.spec),
          fc.constantFrom<Placement>("data", "getter", "trap"),
          async (value, how) => {
            const error = await thrownBy(() => site.entry.run(site.build(value.make(), how)));
            expectNamed(error, option, `${site.entry.call} with ${option} = ${value.label} (${how})`);
          },
        ),
        { numRuns: RUNS },
      );
    },
  );

  const msSites = ALL_SITES.filter((s) => s.spec.kind === "ms");
  it("finds every millisecond option (the timers, the windows, the strategies')", () => {
    expect(msSites.map((s) => s.path.at(-1)).every((k) => k!.endsWith("Ms"))).toBe(true);
    expect(msSites.length).toBeGreaterThanOrEqual(40);
  });

  // Node runs a timer of 2^31 ms or more after 1 ms: a 30-day timeout would fire at once.
  it.each(msSites.map((s) => [`${s.entry.call}: ${s.path.join(".")}`, s] as const))(
    "%s refuses 2^31 ms and takes its largest documented value",
    async (label, site) => {
      const spec = site.spec as Extract<Spec, { kind: "ms" }>;
      const max = spec.max ?? MAX_MS;
      const error = await thrownBy(() => site.entry.run(site.build(max + 1, "data")));
      expectNamed(error, site.path.join("."), `${label} = ${max + 1}`);
      expect(await thrownBy(() => site.entry.run(site.build(2 ** 31, "data")))).toBeInstanceOf(
        FlowConfigError,
      );
      expect(await thrownBy(() => site.entry.run(site.build(max, "data")))).toBeUndefined();
    },
  );

  it.each(ENTRIES.map((e) => [e.call, e] as const))(
    "%s refuses a symbol key at every level",
    async (_label, e) => {
      const levels: [string, unknown][] = [["", { ...e.base, [Symbol("extra")]: 1 }]];
      for (const site of sites(e))
        if (site.spec.kind === "object" && !site.spec.orEnum)
          levels.push([
            site.path.join("."),
            site.build({ ...(site.spec.base ?? {}), [Symbol("extra")]: 1 }, "data"),
          ]);
      for (const [path, options] of levels) {
        const error = await thrownBy(() => e.run(options));
        expectNamed(
          error,
          path ? `${path}.Symbol(extra)` : "Symbol(extra)",
          `${e.call} with a symbol key at "${path}"`,
        );
      }
    },
  );

  it.each(ENTRIES.map((e) => [e.call, e] as const))(
    "%s reads every option exactly once",
    async (_label, e) => {
      const reads = new Map<string, number>();
      const counted = (
        fields: Fields,
        base: Record<string, unknown>,
        path: string,
      ): Record<string, unknown> => {
        const o: Record<string, unknown> = { ...base };
        for (const [key, spec] of Object.entries(fields)) {
          if (spec.kind === "array") continue; // a real array: its elements are read by index
          const at = path ? `${path}.${key}` : key;
          const value =
            spec.kind === "object" && !spec.orBool && !spec.orEnum
              ? counted(spec.fields, spec.base ?? {}, at)
              : spec.kind === "strategy"
                ? strategyOk()
                : spec.ok;
          reads.set(at, 0);
          Object.defineProperty(o, key, {
            enumerable: true,
            get: () => {
              reads.set(at, reads.get(at)! + 1);
              return value;
            },
          });
        }
        return o;
      };
      const options = counted(e.fields, e.base, "");
      const error = await thrownBy(() => e.run(options));
      if (error !== undefined) throw error;
      for (const [option, n] of reads) expect(n, `${e.call}: ${option}`).toBe(1);
    },
  );
});

/** Every positional argument of every public call: [call, argument, how to pass the value, what it takes]. */
const POSITIONAL: [
  string,
  string,
  (v: unknown) => unknown,
  Spec | "options" | "source" | "arms" | "branches",
][] = [
  ["new Flow", "options", (v) => new Flow(v as never), "options"],
  ["setProducer", "producer", (v) => new Flow().setProducer(v as never), "source"],
  ["run", "producer", (v) => new Flow().setConsumer(id).run(v as never), "source"],
  ["run", "options", (v) => new Flow().setConsumer(id).run([1], v as never), "options"],
  ["stream", "producer", (v) => new Flow().addTransformer(id).stream(v as never), "source"],
  ["addTransformer", "fn", (v) => new Flow().addTransformer(v as never), { kind: "stage", ok: id }],
  ["addTransformer", "options", (v) => new Flow().addTransformer(id, v as never), "options"],
  ["setConsumer", "fn", (v) => new Flow().setConsumer(v as never), { kind: "stage", ok: id }],
  ["setConsumer", "options", (v) => new Flow().setConsumer(id, v as never), "options"],
  ["configure", "stageName", (v) => flowWithStage().configure(v as never, {}), { kind: "string", ok: "s" }],
  ["configure", "options", (v) => flowWithStage().configure("s", v as never), "options"],
  ["setErrorHandler", "handler", (v) => new Flow().setErrorHandler(v as never), fn],
  [
    "setDefaultScalingStrategy",
    "defaultScalingStrategy",
    (v) => new Flow().setDefaultScalingStrategy(v as never),
    strategy,
  ],
  ["stageStats", "name", (v) => new Flow().stageStats(v as never), { kind: "string", ok: "s" }],
  ["drain", "options", (v) => new Flow().drain(v as never), "options"],
  ["handleSignals", "options", (v) => new Flow().handleSignals(v as never), "options"],
  ["dump", "options", (v) => flowWithStage().dump(v as never), "options"],
  ["flow", "fn", (v) => flow(v as never), { kind: "stage", ok: id }],
  ["perWorker", "factory", (v) => perWorker(v as never), fn],
  ["batch", "fn", (v) => batch(v as never, { size: 1 }), fn],
  ["batch", "options", (v) => batch(id as never, v as never), "options"],
  ["router", "classify", (v) => router(v as never, { a: id }), fn],
  ["router", "arms", (v) => router(id, v as never), "arms"],
  ["router", "options", (v) => router(id, { a: id }, v as never), "options"],
  ["fanOut", "branches", (v) => fanOut(v as never, id), "branches"],
  ["fanOut", "merge", (v) => fanOut([id], v as never), fn],
  ["fanOut", "options", (v) => fanOut([id], id, v as never), "options"],
  ["new FixedScaling", "options", (v) => new FixedScaling(v as never), "options"],
  ["new UtilizationScaling", "options", (v) => new UtilizationScaling(v as never), "options"],
  ["new AdaptiveScaling", "options", (v) => new AdaptiveScaling(v as never), "options"],
  ["new TargetUtilizationScaling", "options", (v) => new TargetUtilizationScaling(v as never), "options"],
  ["new ThroughputScaling", "options", (v) => new ThroughputScaling(v as never), "options"],
  ["new LatencyBudgetScaling", "options", (v) => new LatencyBudgetScaling(v as never), "options"],
  [
    "new VirtualClock",
    "startMs",
    (v) => new VirtualClock(v as never),
    { kind: "num", min: -Number.MAX_VALUE, max: Number.MAX_VALUE, ok: 0 },
  ],
  ["new VirtualClock", "options", (v) => new VirtualClock(0, v as never), "options"],
  ["parseScenario", "options", (v) => parseScenario(v), "options"],
  ["simulate", "options", (v) => simulate(v as never, strategyOk()), "options"],
  [
    "strategyFor",
    "name",
    (v) => strategyFor(v as never, scenarioBase),
    { kind: "enum", values: [...STRATEGY_NAMES], ok: "fixed" },
  ],
  ["new FifoSemaphore", "slots", (v) => new FifoSemaphore(v as never), int(1)],
  ["simulate", "strategy", (v) => simulate(scenarioBase, v as never), strategy],
  ["simulate", "options", (v) => simulate(scenarioBase, strategyOk(), v as never), "options"],
];

function hostileArgument(kind: (typeof ARGUMENT_KINDS)[number] | Spec): fc.Arbitrary<Made> {
  switch (kind) {
    case "options":
      // `undefined` is "no options"; everything else that is not a plain object is wrong.
      return fc.oneof(universal, numbers, strings, booleans, fns);
    case "source":
      // Arrays, Maps, Sets and typed arrays are iterables: fine as sources.
      return fc.oneof(oddities, notIterable, numbers, booleans, plain);
    case "arms":
      return fc.oneof(universal, numbers, strings, booleans, fns, constants({}, { a: 1 }, { a: Custom }));
    case "branches":
      return fc.oneof(
        oddities,
        constants([], [1], [id, Custom]),
        exotic,
        fc.constant(made("branches with a hole", () => withHole(id, id))),
        numbers,
        strings,
        plain,
        fns,
      );
    default:
      return hostile(kind);
  }
}
const ARGUMENT_KINDS = ["options", "source", "arms", "branches"] as const;

describe("generated bad input: every positional argument", () => {
  it.each(POSITIONAL.map(([call, arg, run, kind]) => [`${call}: ${arg}`, arg, run, kind] as const))(
    "%s",
    async (_label, arg, run, kind) => {
      await fc.assert(
        fc.asyncProperty(hostileArgument(kind), async (value) => {
          const error = await thrownBy(() => run(value.make()));
          expectNamed(error, arg, `${_label} = ${value.label}`);
        }),
        { numRuns: RUNS },
      );
    },
  );
});
