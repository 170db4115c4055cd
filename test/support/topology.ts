// Random topologies, random faults and random ways to end a run, for the conservation properties:
// the same scenarios run under virtual time (test/flow/properties/topology.property.test.ts) and in real time
// (test/flow/properties/chaos.property.test.ts, and `npm run chaos`), and in a child process that gets a
// SIGTERM (test/fixtures/chaos-child.ts).
import fc from "fast-check";
import { expect } from "vitest";
import {
  AdaptiveScaling,
  batch,
  type Clock,
  FixedScaling,
  Flow,
  type FlowErrorEvent,
  type FlowEvents,
  fanOut,
  flatMap,
  Last,
  type LastValue,
  Skip,
  type SkipValue,
  perWorker,
  router,
  type ScalingStrategy,
  type StageContext,
  type StageLike,
  type StageStats,
  ThroughputScaling,
  UtilizationScaling,
  type VirtualClock,
} from "../../src/index.js";
import { seededRandom } from "../../src/simulate/random.js";
import { sleep } from "../helpers.js";

export interface Item {
  readonly id: number;
  /** A `flatMap` child's place in the output order: its parent's key, then its index. */
  readonly path?: readonly number[];
}

/** Where an item belongs in the output order: source items by id, children after their parent's key. */
export const orderKey = (item: Item): readonly number[] => item.path ?? [item.id];

/** Whether `a` comes before `b` in the output order (lexicographic; a prefix first). */
export function before(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return a.length < b.length;
}

/** Settings every stage-bearing node has: its pool, its queue, its faults. */
export interface Pool {
  workers: number;
  adaptive: boolean;
  queueSize: number;
  ordered: boolean;
  failEvery: number | undefined;
  delayMs: number;
  /** Every k-th item fails its first attempt (a transient fault). */
  transientEvery?: number | undefined;
  /** Attempts in all (1: no retry). */
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number | undefined;
  /** Every k-th item's first attempt takes three times the timeout. */
  slowEvery?: number | undefined;
  /** The function ignores `ctx.signal` (a timeout then leaves it running). */
  ignoresSignal?: boolean;
  /** The stage's `rateLimit`, if any. */
  rateLimit?: { perSecond: number; burst: number } | undefined;
  /** The stage's `overloadOn`: the default, one that recognises the transient faults, or one that throws. */
  overloadOn?: "default" | "transient" | "throws";
  /** A transient fault (a 429) asks for this Retry-After, in ms; undefined: none. */
  retryAfterMs?: number | undefined;
  /** Items whose id + 1 is a multiple of this are skipped here (`Skip`); undefined: none. */
  skipEvery?: number | undefined;
}

/** Whether the pool skips `item`. */
const skips = (p: Pool, item: Item): boolean =>
  p.skipEvery !== undefined && (item.id + 1) % p.skipEvery === 0;
export type Spec =
  | ({ kind: "stage"; perWorker: boolean; setupFails?: number; lastAt: number | undefined } & Pool)
  | ({ kind: "batch"; size: number; flushMs: number } & Pool)
  | ({ kind: "router"; arms: Spec[][]; fallback: Spec[] | null; extraLabels: number } & Pool)
  | ({ kind: "fanOut"; branches: Spec[][] } & Pool)
  /** Each item gets 0..`fanout` children; one in `throwEvery` has its iterator throw half-way. */
  | ({ kind: "flatMap"; fanout: number; throwEvery: number | undefined } & Pool)
  | { kind: "sub"; chain: Spec[] };

/** `chain` with `f` applied to every node where it answers, recursing into the others' chains. */
function mapNodes(chain: Spec[], f: (s: Spec) => Spec | null): Spec[] {
  return chain.map((s): Spec => {
    const own = f(s);
    if (own !== null) return own;
    switch (s.kind) {
      case "sub":
        return { ...s, chain: mapNodes(s.chain, f) };
      case "router":
        return {
          ...s,
          arms: s.arms.map((c) => mapNodes(c, f)),
          fallback: s.fallback === null ? null : mapNodes(s.fallback, f),
        };
      case "fanOut":
        return { ...s, branches: s.branches.map((c) => mapNodes(c, f)) };
      default:
        return s;
    }
  });
}

/** The chain with every flatMap made a plain stage (a fan-out's branches but its first may not expand). */
function withoutFlatMap(chain: Spec[]): Spec[] {
  return mapNodes(chain, (s) => {
    if (s.kind !== "flatMap") return null;
    const { fanout: _f, throwEvery: _t, ...pool } = s;
    return { ...pool, kind: "stage", perWorker: false, lastAt: undefined };
  });
}

/**
 * The chain with every flatMap in a fan-out's branches made a plain stage: a fan-out that expands
 * may not sit in another fan-out's branch.
 */
function noExpandingFanOut(chain: Spec[]): Spec[] {
  return mapNodes(chain, (s) =>
    s.kind === "fanOut" ? { ...s, branches: s.branches.map(withoutFlatMap) } : null,
  );
}

const poolArb = {
  workers: fc.integer({ min: 1, max: 3 }),
  adaptive: fc.boolean(),
  queueSize: fc.integer({ min: 1, max: 5 }),
  ordered: fc.boolean(),
  failEvery: fc.option(fc.integer({ min: 2, max: 9 }), { nil: undefined, freq: 3 }),
  delayMs: fc.integer({ min: 0, max: 4 }),
  transientEvery: fc.option(fc.integer({ min: 2, max: 5 }), { nil: undefined, freq: 2 }),
  attempts: fc.integer({ min: 1, max: 3 }),
  backoffMs: fc.integer({ min: 0, max: 6 }),
  timeoutMs: fc.option(fc.integer({ min: 2, max: 6 }), { nil: undefined, freq: 2 }),
  slowEvery: fc.option(fc.integer({ min: 2, max: 4 }), { nil: undefined }),
  ignoresSignal: fc.boolean(),
  rateLimit: fc.option(
    fc.record({ perSecond: fc.constantFrom(300, 1000, 5000), burst: fc.integer({ min: 1, max: 3 }) }),
    { nil: undefined, freq: 3 },
  ),
  overloadOn: fc.constantFrom("default" as const, "transient" as const, "throws" as const),
  retryAfterMs: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  skipEvery: fc.option(fc.integer({ min: 2, max: 7 }), { nil: undefined, freq: 3 }),
};

const { chain: chainArb } = fc.letrec<{ node: Spec; chain: Spec[] }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 2, depthIdentifier: "topology" },
    fc.record({
      kind: fc.constant("stage" as const),
      perWorker: fc.boolean(),
      setupFails: fc.constantFrom(0, 0, 1, 9),
      lastAt: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined, freq: 4 }),
      ...poolArb,
    }),
    fc.record({
      kind: fc.constant("batch" as const),
      size: fc.integer({ min: 1, max: 4 }),
      flushMs: fc.constantFrom(3, 20, Number.POSITIVE_INFINITY),
      ...poolArb,
    }),
    fc.record({
      kind: fc.constant("router" as const),
      arms: fc.array(tie("chain"), { minLength: 1, maxLength: 3 }),
      fallback: fc.option(tie("chain"), { nil: null }),
      extraLabels: fc.integer({ min: 0, max: 1 }),
      ...poolArb,
    }),
    fc
      .record({
        kind: fc.constant("fanOut" as const),
        branches: fc.array(tie("chain"), { minLength: 1, maxLength: 3 }),
        ...poolArb,
      })
      // Only the first branch may expand (each child merges with the others' results for its parent).
      .map((f) => ({
        ...f,
        branches: f.branches.map((b, i) => (i === 0 ? noExpandingFanOut(b) : withoutFlatMap(b))),
      })),
    fc.record({
      kind: fc.constant("flatMap" as const),
      fanout: fc.integer({ min: 0, max: 3 }),
      throwEvery: fc.option(fc.integer({ min: 2, max: 6 }), { nil: undefined, freq: 3 }),
      ...poolArb,
    }),
    fc.record({ kind: fc.constant("sub" as const), chain: tie("chain") }),
  ),
  chain: fc.array(tie("node"), { minLength: 1, maxLength: 3 }),
}));

const LISTENED: (keyof FlowEvents)[] = [
  "scale",
  "drop",
  "skip",
  "expand",
  "retry",
  "itemError",
  "drained",
  "stopped",
  "stats",
];

export const scenarioArb = fc.record({
  chain: chainArb,
  items: fc.integer({ min: 0, max: 40 }),
  source: fc.constantFrom("sync", "async", "push"),
  /** A producer-fed run read with `stream()` instead of a consumer. */
  stream: fc.boolean(),
  end: fc.constantFrom("natural", "drain", "drainDeadline", "stop"),
  endAtMs: fc.integer({ min: 0, max: 30 }),
  // A flow-wide worker budget: this many workers beyond one per stage, or none.
  budgetExtra: fc.option(fc.integer({ min: 0, max: 4 }), { nil: null, freq: 2 }),
  /** Adaptive pools get random scale changes on every tick and now and then on items. */
  randomScaling: fc.boolean(),
  seed: fc.nat(),
  /** Listeners that throw or reject. */
  badListeners: fc.subarray(
    LISTENED.flatMap((e): [keyof FlowEvents, "throws" | "rejects"][] => [
      [e, "throws"],
      [e, "rejects"],
    ]),
    { maxLength: 4 },
  ),
});
export type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

/** Changes the pool at random: on every tick, and now and then as items come and go. */
class RandomScaling implements ScalingStrategy {
  readonly minWorkers = 1;
  constructor(
    readonly maxWorkers: number,
    private readonly random: () => number,
  ) {}
  initialWorkers(): number {
    return 1 + Math.floor(this.random() * this.maxWorkers);
  }
  onEnqueue(s: StageStats): number {
    return s.queueLength > 0 && this.random() < 0.2 ? 1 : 0;
  }
  onDequeue(): number {
    return this.random() < 0.05 ? -1 : 0;
  }
  onTick(): number {
    return Math.floor(this.random() * 5) - 2;
  }
  clone(): RandomScaling {
    return new RandomScaling(this.maxWorkers, this.random);
  }
}

/** Everything a run needs to build its stages and check its bounds. */
export class Harness {
  opened = 0;
  closed = 0;
  /** Items the flow can hold at most: every queue, every worker's hand, every reorder buffer. */
  capacity = 1;
  routerMisses = false;
  lasts = false;
  /** Ids of the children the flatMap stages made, in the order they were made. */
  readonly children: number[] = [];
  #nextChild = 1_000_000;

  constructor(
    readonly clock: Clock,
    readonly random: (() => number) | null = null,
  ) {}

  options(p: Pool) {
    const max = p.adaptive ? Math.max(p.workers, 3) : p.workers;
    // Adaptive pools take turns among the strategies (by worker count, so that old seeds replay).
    const scalingStrategy = !p.adaptive
      ? new FixedScaling({ workers: p.workers })
      : this.random !== null
        ? new RandomScaling(max, this.random)
        : p.workers % 3 === 1
          ? new AdaptiveScaling({ maxWorkers: max, downStabilizationMs: 20, kneeHoldMs: 30 })
          : p.workers % 3 === 2
            ? new ThroughputScaling({ maxWorkers: max, downStabilizationMs: 20 })
            : new UtilizationScaling({ minWorkers: 1, maxWorkers: max, cooldownMs: 3, dampening: 1 });
    const attempts = p.attempts ?? 1;
    return {
      max,
      opts: {
        scalingStrategy,
        queueSize: p.queueSize,
        ordered: p.ordered,
        // Jitter draws from the flow's seeded random source: a failing seed replays under virtual time.
        ...(attempts > 1 ? { retry: { attempts, backoff: { baseMs: p.backoffMs ?? 0 } } } : {}),
        ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}),
        ...(p.rateLimit !== undefined ? { rateLimit: p.rateLimit } : {}),
        ...(p.overloadOn === "transient"
          ? { overloadOn: (e: unknown) => String((e as Error).message).startsWith("transient") }
          : p.overloadOn === "throws"
            ? {
                overloadOn: () => {
                  throw new Error("overloadOn bug");
                },
              }
            : {}),
      },
    };
  }

  /** Waits as the pool says: longer on a slow first attempt, with or without the signal. */
  async wait(p: Pool, item: Item, ctx: StageContext): Promise<void> {
    const slow = p.timeoutMs !== undefined && p.slowEvery !== undefined && item.id % p.slowEvery === 0;
    const ms = slow && ctx.attempt === 1 ? p.timeoutMs! * 3 : p.delayMs;
    if (ms > 0) await sleep(this.clock, ms, p.ignoresSignal ? undefined : ctx.signal);
  }

  /** Throws the pool's faults: a permanent one every `failEvery` calls, a transient first attempt. */
  faults(p: Pool, item: Item, ctx: StageContext, calls: number): void {
    if (p.failEvery !== undefined && calls % p.failEvery === 0) throw new Error(`fail ${item.id}`);
    if (p.transientEvery !== undefined && item.id % p.transientEvery === 0 && ctx.attempt === 1)
      // A 429, as a client library would throw it (the default overloadOn recognises it).
      throw Object.assign(new Error(`transient ${item.id}`), {
        status: 429,
        ...(p.retryAfterMs !== undefined ? { retryAfterMs: p.retryAfterMs } : {}),
      });
  }

  /** A stage function: waits, fails every `failEvery`-th call, may return `Last` or `Skip`. */
  work(p: Pool, lastAt?: number) {
    let calls = 0;
    return async (item: Item, ctx: StageContext): Promise<Item | LastValue<Item | SkipValue> | SkipValue> => {
      await this.wait(p, item, ctx);
      this.faults(p, item, ctx, ++calls);
      // (An odd id ends the flow with Last(Skip): that item skipped, nothing handed on for it.)
      if (lastAt !== undefined && item.id === lastAt) return item.id % 2 ? Last(Skip) : Last(item);
      return skips(p, item) ? Skip : item;
    };
  }

  /** One node as a stage-like with its options. */
  node(spec: Spec): { stage: StageLike<Item, Item>; options: object } {
    switch (spec.kind) {
      case "stage": {
        const { max, opts } = this.options(spec);
        this.capacity += spec.queueSize + max + (spec.ordered ? spec.queueSize + max : 0);
        if (spec.lastAt !== undefined) this.lasts = true;
        const fn = this.work(spec, spec.lastAt);
        let setups = 0;
        const stage = spec.perWorker
          ? perWorker<Item, Item | LastValue<Item | SkipValue> | SkipValue>(() => {
              if (setups++ < (spec.setupFails ?? 0)) throw new Error("setup failed");
              this.opened++;
              return { process: fn, close: () => void this.closed++ };
            })
          : fn;
        return { stage: stage as StageLike<Item, Item>, options: opts };
      }
      case "batch": {
        const { max, opts } = this.options(spec);
        const queueSize = Math.max(spec.queueSize, spec.size);
        // Ordered: the reorder buffer's slots (a queue's worth of items) plus one batch per worker
        // waiting to file its slot.
        this.capacity += queueSize + max * spec.size + (spec.ordered ? queueSize + max * spec.size : 0);
        let calls = 0;
        const stage = batch(
          async (items: Item[], ctx) => {
            await this.wait(spec, items[0]!, ctx);
            this.faults(spec, items[0]!, ctx, ++calls);
            return items.map((it) => (skips(spec, it) ? Skip : it));
          },
          { size: spec.size, flushMs: spec.flushMs },
        );
        return { stage, options: { ...opts, queueSize } };
      }
      case "router": {
        const { max, opts } = this.options(spec);
        this.capacity += spec.queueSize + max + (spec.ordered ? spec.queueSize + max : 0);
        const labels = spec.arms.length + spec.extraLabels;
        if (spec.extraLabels > 0 && spec.fallback === null) this.routerMisses = true;
        const arms = Object.fromEntries(spec.arms.map((c, i) => [`a${i}`, this.chain(c)]));
        const stage = router((item: Item) => (skips(spec, item) ? Skip : `a${item.id % labels}`), arms, {
          ...(spec.fallback ? { default: this.chain(spec.fallback) } : {}),
        });
        return { stage, options: opts };
      }
      case "fanOut": {
        const { max, opts } = this.options(spec);
        this.capacity += spec.queueSize + max + (spec.ordered ? spec.queueSize + max : 0);
        const branches = spec.branches.map((c) => this.chain(c)) as unknown as [
          StageLike<Item, Item>,
          ...StageLike<Item, Item>[],
        ];
        const merge = this.work(spec);
        return { stage: fanOut(branches, (results, ctx) => merge(results[0] as Item, ctx)), options: opts };
      }
      case "flatMap": {
        const { max, opts } = this.options(spec);
        // A worker holds its parent and the one child it is handing on: two items, never more.
        this.capacity += spec.queueSize + 2 * max + (spec.ordered ? spec.queueSize + max : 0);
        let calls = 0;
        const stage = flatMap(async (item: Item, ctx) => {
          await this.wait(spec, item, ctx);
          this.faults(spec, item, ctx, ++calls);
          return this.children$(spec, item);
        });
        return { stage, options: opts };
      }
      case "sub":
        return { stage: this.chain(spec.chain), options: {} };
    }
  }

  /** The children of `item`: 0..fanout of them (none when the pool skips it), each a new id. */
  *children$(spec: Extract<Spec, { kind: "flatMap" }>, item: Item): Generator<Item> {
    const n = skips(spec, item) ? 0 : (item.id * 7 + 3) % (spec.fanout + 1);
    const breaks = spec.throwEvery !== undefined && item.id % spec.throwEvery === 0;
    for (let k = 0; k < n; k++) {
      if (breaks && k === n >> 1) throw new Error(`iterator broke at ${item.id}`);
      const id = this.#nextChild++;
      this.children.push(id);
      yield { id, path: [...orderKey(item), k] };
    }
  }

  chain(specs: Spec[]): Flow<Item, Item> {
    const f = new Flow<Item, Item>();
    for (const spec of specs) {
      const { stage, options } = this.node(spec);
      f.addTransformer(stage as never, options as never);
    }
    return f;
  }
}

/**
 * Whether the flow promises input order at its end: every stage on the way keeps order (ordered,
 * or one fixed worker), and there is no router (arms interleave). A fan-out keeps it when every
 * branch does (records join in order) and so does its merge.
 */
export function orderPromised(chain: readonly Spec[]): boolean {
  const keeps = (p: Pool) => p.ordered || (!p.adaptive && p.workers === 1);
  return chain.every((s) => {
    switch (s.kind) {
      case "sub":
        return orderPromised(s.chain);
      case "router":
        return false;
      case "fanOut":
        return keeps(s) && s.branches.every(orderPromised);
      default:
        return keeps(s);
    }
  });
}

/** What a run of a scenario left to check. */
export interface Outcome {
  readonly flow: Flow<Item, Item>;
  readonly harness: Harness;
  /** Ids in the order they reached the end of the flow (the consumer's calls, or the stream's reads). */
  readonly arrived: number[];
  /** Ids consumed (the consumer's call completed, or the stream handed them to the loop). */
  readonly consumed: number[];
  readonly events: FlowErrorEvent[];
  /** Ids of the `skip` events. */
  readonly skipped: number[];
  /** Ids of the `expand` events' items. */
  readonly expanded: number[];
  /** Order keys of what arrived, in arrival order. */
  readonly order: (readonly number[])[];
  /** The flow's ids of every outcome: the consumer's `ctx.id`s and the events' `id`s (not for a stream). */
  readonly flowIds: number[];
  /** Read with `stream()`: the consumed items' flow ids are not known. */
  readonly streaming: boolean;
  readonly listenerCalls: number;
  /** The flow as it was when `wait()`, `drain()` or `stop()` resolved (each of them that was called). */
  readonly atResolve: { what: string; inFlight: number; opened: number; closed: number; workers: number }[];
  readonly maxHeld: number;
  readonly budget: number | undefined;
  readonly maxActive: number;
}

/** A scenario's flow, built and listened to, not yet fed. */
export interface Built {
  readonly flow: Flow<Item, Item>;
  readonly harness: Harness;
  readonly time: Clock;
  /** Read with `stream()` (no consumer). */
  readonly streaming: boolean;
  readonly consumed: number[];
  readonly arrived: number[];
  readonly events: FlowErrorEvent[];
  readonly skipped: number[];
  readonly expanded: number[];
  readonly order: (readonly number[])[];
  readonly flowIds: number[];
  readonly listenerCalls: { n: number };
  readonly budget: number | undefined;
}

/** Builds the scenario's flow, its error handler and its listeners. `clock` null: real time. */
export function buildScenario(sc: Scenario, clock: VirtualClock | null): Built {
  const time: Clock = clock ?? {
    now: () => performance.now(),
    setTimeout,
    clearTimeout: (h) => clearTimeout(h as never),
  };
  const random = sc.randomScaling ? seededRandom(sc.seed) : null;
  const h = new Harness(time, random);
  const consumed: number[] = [];
  const arrived: number[] = [];
  const events: FlowErrorEvent[] = [];
  const order: (readonly number[])[] = [];
  const flowIds: number[] = [];
  const streaming = sc.stream && sc.source !== "push";

  const build = (harness: Harness, maxTotalWorkers?: number): Flow<Item, Item> => {
    const flow = new Flow<Item, Item>({
      ...(clock ? { clock } : {}),
      random: seededRandom(sc.seed + 1),
      tickMs: 7,
      statsIntervalMs: 7,
      ...(maxTotalWorkers ? { maxTotalWorkers } : {}),
    });
    for (const spec of sc.chain) {
      const { stage, options } = harness.node(spec);
      flow.addTransformer(stage as never, options as never);
    }
    if (streaming) return flow;
    harness.capacity += 3 + 1; // the consumer: queue 3, one worker (so that arrival order is dequeue order)
    flow.setConsumer(
      async (item: Item, ctx) => {
        const id = ctx.id;
        arrived.push(item.id);
        order.push(orderKey(item));
        await sleep(time, 1, ctx.signal);
        consumed.push(item.id);
        flowIds.push(id);
      },
      { queueSize: 3, scalingStrategy: new FixedScaling({ workers: 1 }) },
    );
    return flow;
  };
  // The budget is counted from the expanded stages of a throwaway build.
  const budget =
    sc.budgetExtra === null
      ? undefined
      : (
          JSON.parse(build(new Harness(time)).dump({ mode: "structure", format: "json" })) as {
            stages: { kind: string }[];
          }
        ).stages.filter((st) => st.kind !== "producer").length + sc.budgetExtra;
  const f = build(h, budget);
  // The stream's sink holds up to the last stage's queue size (at most 5, or a batch's 4).
  if (streaming) h.capacity += 5;
  f.setErrorHandler((e) => {
    events.push(e);
    if (e.type === "TransformerError" || e.type === "Dropped") flowIds.push(e.id);
  });
  const skipped: number[] = [];
  f.on("skip", (e) => {
    skipped.push((e.item as Item).id);
    flowIds.push(e.id);
  });
  const expanded: number[] = [];
  f.on("expand", (e) => {
    expanded.push((e.item as Item).id);
    flowIds.push(e.id);
  });
  const listenerCalls = { n: 0 };
  for (const [event, how] of sc.badListeners) {
    f.on(event, () => {
      listenerCalls.n++;
      if (how === "throws") throw new Error(`${event} listener bug`);
      return Promise.reject(new Error(`${event} listener bug`));
    });
  }
  return {
    flow: f,
    harness: h,
    time,
    streaming,
    consumed,
    arrived,
    events,
    skipped,
    expanded,
    order,
    flowIds,
    listenerCalls,
    budget,
  };
}

/**
 * Builds the scenario's flow, feeds it, ends it as the scenario says, and waits until it is over.
 * `clock` null: real time (the system clock and real timers); else that virtual clock.
 */
export async function runScenario(sc: Scenario, clock: VirtualClock | null): Promise<Outcome> {
  const built = buildScenario(sc, clock);
  const { flow: f, harness: h, time, streaming, consumed, arrived, events, budget } = built;
  let maxHeld = 0;
  let maxActive = 0;
  const sample = () => {
    const st = f.stats();
    maxHeld = Math.max(maxHeld, st.inFlight);
    if (budget !== undefined)
      maxActive = Math.max(
        maxActive,
        st.stages.reduce((a, x) => a + x.activeWorkers, 0),
      );
  };
  const atResolve: Outcome["atResolve"] = [];
  const snapshot = (what: string) => () => {
    const s = f.stats();
    atResolve.push({
      what,
      inFlight: s.inFlight,
      opened: h.opened,
      closed: h.closed,
      workers: s.stages.reduce((a, x) => a + x.totalWorkers, 0),
    });
  };
  const pause = (ms: number) => sleep(time, ms);

  let finished = false;
  const ended: Promise<unknown>[] = [];
  if (sc.source === "push") {
    const input = f.push();
    ended.push(f.wait().then(snapshot("wait")));
    void f.wait().then(() => (finished = true));
    void (async () => {
      for (let id = 0; id < sc.items; id++) {
        sample();
        if (id % 4 === 0) await pause(1);
        // A send may be dropped or refused once the flow was stopped, drained or cut off by Last.
        if ((await input.send({ id })).status !== "queued") break;
      }
      await input.complete().catch(() => {});
    })();
  } else {
    const source =
      sc.source === "async"
        ? async function* () {
            for (let id = 0; id < sc.items; id++) {
              sample();
              if (id % 5 === 0) await pause(1);
              yield { id };
            }
          }
        : function* () {
            for (let id = 0; id < sc.items; id++) {
              sample();
              yield { id };
            }
          };
    if (streaming) {
      const reading = (async () => {
        for await (const item of f.stream(source)) {
          arrived.push(item.id);
          built.order.push(orderKey(item));
          consumed.push(item.id);
          sample();
        }
      })();
      ended.push(reading.then(snapshot("stream")));
      void f.wait().then(() => (finished = true));
    } else {
      f.setProducer(source);
      await f.start();
      ended.push(f.wait().then(snapshot("wait")));
      void f.wait().then(() => (finished = true));
    }
  }
  if (sc.end !== "natural") {
    const end = () => {
      const p =
        sc.end === "drain" ? f.drain() : sc.end === "drainDeadline" ? f.drain({ timeoutMs: 20 }) : f.stop();
      ended.push(p.then(snapshot(sc.end)));
    };
    if (clock) {
      await clock.advance(sc.endAtMs);
      end();
    } else setTimeout(end, sc.endAtMs);
  }
  if (clock) await clock.runUntil(() => finished, { stepMs: 5, maxMs: 300_000 });
  else {
    // A case that never ends fails here rather than hanging the suite.
    const timer = new Promise((_, reject) =>
      setTimeout(() => reject(new Error("the run did not end within 20 s")), 20_000).unref(),
    );
    await Promise.race([f.wait(), timer]);
  }
  if (!clock && sc.end !== "natural") await new Promise((r) => setTimeout(r, sc.endAtMs + 1));
  await Promise.all(ended);
  // An item the source yields after stop() abandoned its next() is reported then: let it come.
  if (clock) await clock.advance(10);
  else await new Promise((r) => setTimeout(r, 10));
  return {
    flow: f,
    harness: h,
    arrived,
    consumed,
    events,
    skipped: built.skipped,
    expanded: built.expanded,
    order: built.order,
    flowIds: built.flowIds,
    streaming,
    listenerCalls: built.listenerCalls.n,
    atResolve,
    maxHeld,
    budget,
    maxActive,
  };
}

/** Everything the properties promise, checked on one run. */
export function checkOutcome(sc: Scenario, o: Outcome): void {
  const { flow: f, harness: h, events } = o;
  const s = f.stats();
  // Per item: every id taken has exactly one outcome, and no outcome names an id twice.
  const ids = (type: string) =>
    events.flatMap((e) => (e.type === type ? [(e as { item: Item }).item.id] : []));
  const failed = ids("TransformerError");
  const dropped = ids("Dropped");
  // (Items from the source, and every child a flatMap made.)
  const all = [...o.consumed, ...failed, ...dropped, ...o.skipped, ...o.expanded].sort((a, b) => a - b);
  expect(all).toEqual([...Array.from({ length: s.itemsIn }, (_, i) => i), ...h.children]);
  expect(s).toMatchObject({
    inFlight: 0,
    consumed: o.consumed.length,
    failed: failed.length,
    dropped: dropped.length,
    skipped: o.skipped.length,
    expanded: o.expanded.length,
    children: h.children.length,
  });
  // The flow's own ids: 1, 2, … one per item and child, each on exactly one outcome.
  if (!o.streaming) {
    const ids = [...o.flowIds].sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: s.itemsIn + s.children }, (_, i) => i + 1));
  }
  // Each item skipped is counted by the one stage whose Skip ended it (a fan-out's item: the first).
  expect(s.stages.reduce((a, st) => a + st.skipped, 0)).toBe(o.skipped.length);
  // Drops by reason match the events, and each reason has a cause.
  const byReason: Record<string, number> = {
    STOPPED: 0,
    ROUTER_MISS: 0,
    UPSTREAM_TERMINATED: 0,
    WITHDRAWN: 0,
  };
  for (const e of events) if (e.type === "Dropped") byReason[e.reason]!++;
  expect(s.droppedByReason).toEqual(byReason);
  if (sc.end === "natural" || sc.end === "drain") expect(byReason.STOPPED).toBe(0);
  if (!h.routerMisses) expect(byReason.ROUTER_MISS).toBe(0);
  if (!h.lasts) expect(byReason.UPSTREAM_TERMINATED).toBe(0);
  expect(byReason.WITHDRAWN).toBe(0);
  if (sc.end === "natural" && !h.lasts) expect(s.itemsIn).toBe(sc.items);
  // Order, where every stage on the way keeps it.
  if (orderPromised(sc.chain))
    for (let i = 1; i < o.order.length; i++) expect(before(o.order[i - 1]!, o.order[i]!)).toBe(true);
  // Listener errors: each failing call counted and reported, none changed an item's fate (above).
  expect(s.listenerErrors).toBe(o.listenerCalls);
  expect(events.filter((e) => e.type === "ListenerError")).toHaveLength(o.listenerCalls);
  // When wait(), drain(), stop() or the stream's loop resolved, nothing was in flight and every
  // setup had had its close.
  for (const r of o.atResolve)
    expect(r).toEqual({ what: r.what, inFlight: 0, opened: r.opened, closed: r.opened, workers: 0 });
  // Bounded memory: never more held than every queue, worker and reorder buffer together.
  expect(o.maxHeld).toBeLessThanOrEqual(h.capacity);
  if (o.budget !== undefined) expect(o.maxActive).toBeLessThanOrEqual(o.budget);
  expect(h.closed).toBe(h.opened);
  for (const st of s.stages) expect(st.totalWorkers).toBe(0);
}
