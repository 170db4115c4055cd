import { writeFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { batch } from "../../src/flow/batch.js";
import type { StageLike } from "../../src/flow/composable.js";
import type { DropReason, FlowErrorEvent } from "../../src/flow/events.js";
import { fanOut } from "../../src/flow/fan-out.js";
import { Flow } from "../../src/flow/flow.js";
import { Last, type LastValue } from "../../src/flow/last.js";
import { perWorker } from "../../src/flow/per-worker.js";
import { router } from "../../src/flow/router.js";
import type { StageContext } from "../../src/flow/types.js";
import { FixedScaling } from "../../src/scaling/fixed-scaling.js";
import { UtilizationScaling } from "../../src/scaling/utilization-scaling.js";
import { AdaptiveScaling } from "../../src/scaling/adaptive-scaling.js";
import { ThroughputScaling } from "../../src/scaling/throughput-scaling.js";
import { endRun, expectConservation, sleep, VirtualClock } from "../helpers.js";

const RUNS = Number(process.env.FC_RUNS ?? 120);

interface Item {
  readonly id: number;
}

/** Settings every stage-bearing node has: its pool, its queue, its faults. */
interface Pool {
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
}
type Spec =
  | ({ kind: "stage"; perWorker: boolean; setupFails?: number; lastAt: number | undefined } & Pool)
  | ({ kind: "batch"; size: number; flushMs: number } & Pool)
  | ({ kind: "router"; arms: Spec[][]; fallback: Spec[] | null; extraLabels: number } & Pool)
  | ({ kind: "fanOut"; branches: Spec[][] } & Pool)
  | { kind: "sub"; chain: Spec[] };

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
    fc.record({
      kind: fc.constant("fanOut" as const),
      branches: fc.array(tie("chain"), { minLength: 1, maxLength: 3 }),
      ...poolArb,
    }),
    fc.record({ kind: fc.constant("sub" as const), chain: tie("chain") }),
  ),
  chain: fc.array(tie("node"), { minLength: 1, maxLength: 3 }),
}));

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;
const scenarioArb = fc.record({
  chain: chainArb,
  items: fc.integer({ min: 0, max: 40 }),
  source: fc.constantFrom("sync", "async", "push"),
  end: fc.constantFrom("natural", "drain", "drainDeadline", "stop"),
  endAtMs: fc.integer({ min: 0, max: 30 }),
  // A flow-wide worker budget: this many workers beyond one per stage, or none.
  budgetExtra: fc.option(fc.integer({ min: 0, max: 4 }), { nil: null, freq: 2 }),
});

/**
 * Found by this property (seed 1, run 1500): a push-fed fan-out drained while a send was half-way
 * through the split. Kept as a fixed example.
 */
const PUSH_DRAIN_MID_SPLIT = JSON.parse(
  // biome-ignore format: one line of data
  '{"chain": [{"kind": "fanOut", "branches": [[{"kind": "sub", "chain": [{"kind": "stage", "perWorker": false, "workers": 2, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 4, "failEvery": null, "lastAt": null}]}], [{"kind": "router", "arms": [[{"kind": "stage", "perWorker": false, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "failEvery": 5, "delayMs": 0, "lastAt": null}, {"kind": "stage", "perWorker": false, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 0, "failEvery": null, "lastAt": null}]], "fallback": null, "extraLabels": 0, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 0, "failEvery": null}, {"kind": "sub", "chain": [{"kind": "stage", "perWorker": false, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "failEvery": 6, "delayMs": 0, "lastAt": null}, {"kind": "stage", "perWorker": false, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "failEvery": 2, "delayMs": 1, "lastAt": null}, {"kind": "stage", "perWorker": false, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 3, "failEvery": null, "lastAt": null}]}], [{"kind": "router", "arms": [[{"kind": "stage", "perWorker": false, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 0, "failEvery": null, "lastAt": null}]], "fallback": null, "extraLabels": 0, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 0, "failEvery": null}]], "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 0, "failEvery": null}, {"kind": "router", "arms": [[{"kind": "fanOut", "branches": [[{"kind": "stage", "perWorker": false, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 0, "failEvery": null, "lastAt": null}]], "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 2, "failEvery": null}, {"kind": "router", "arms": [[{"kind": "stage", "perWorker": false, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 0, "failEvery": null, "lastAt": null}]], "fallback": [{"kind": "stage", "perWorker": false, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 0, "failEvery": null, "lastAt": null}], "extraLabels": 0, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 0, "failEvery": null}]], "fallback": null, "extraLabels": 0, "workers": 1, "adaptive": false, "queueSize": 1, "ordered": false, "delayMs": 0, "failEvery": null}], "items": 12, "source": "push", "end": "drain", "endAtMs": 17}',
  (k, v) => ((k === "failEvery" || k === "lastAt") && v === null ? undefined : v),
) as Scenario;

/** Everything a run needs to build its stages and check its bounds. */
class Harness {
  opened = 0;
  closed = 0;
  /** Items the flow can hold at most: every queue, every worker's hand, every reorder buffer. */
  capacity = 1;
  routerMisses = false;
  lasts = false;

  constructor(readonly clock: VirtualClock) {}

  options(p: Pool) {
    const max = p.adaptive ? Math.max(p.workers, 3) : p.workers;
    // Adaptive pools take turns among the strategies (by worker count, so that old seeds replay).
    const scalingStrategy = !p.adaptive
      ? new FixedScaling({ workers: p.workers })
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
        // Jitter 0 keeps a failing seed reproducible (jitter draws from Math.random).
        ...(attempts > 1 ? { retry: { attempts, backoff: { baseMs: p.backoffMs ?? 0, jitter: 0 } } } : {}),
        ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}),
      },
    };
  }

  /** Waits as the pool says: longer on a slow first attempt, with or without the signal. */
  async wait(p: Pool, item: { id: number }, ctx: StageContext): Promise<void> {
    const slow = p.timeoutMs !== undefined && p.slowEvery !== undefined && item.id % p.slowEvery === 0;
    const ms = slow && ctx.attempt === 1 ? p.timeoutMs! * 3 : p.delayMs;
    if (ms > 0) await sleep(this.clock, ms, p.ignoresSignal ? undefined : ctx.signal);
  }

  /** Throws the pool's faults: a permanent one every `failEvery` calls, a transient first attempt. */
  faults(p: Pool, item: { id: number }, ctx: StageContext, calls: number): void {
    if (p.failEvery !== undefined && calls % p.failEvery === 0) throw new Error(`fail ${item.id}`);
    if (p.transientEvery !== undefined && item.id % p.transientEvery === 0 && ctx.attempt === 1)
      throw new Error(`transient ${item.id}`);
  }

  /** A stage function: waits, fails every `failEvery`-th call, may return `Last`. */
  work(p: Pool, lastAt?: number) {
    let calls = 0;
    return async (item: Item, ctx: StageContext): Promise<Item | ReturnType<typeof Last<Item>>> => {
      await this.wait(p, item, ctx);
      this.faults(p, item, ctx, ++calls);
      return lastAt !== undefined && item.id === lastAt ? Last(item) : item;
    };
  }

  /** Adds one node to `f` (or, with `f` null, returns it as a stage-like for an arm or branch). */
  node(spec: Spec): { stage: StageLike<Item, Item>; options: object } {
    switch (spec.kind) {
      case "stage": {
        const { max, opts } = this.options(spec);
        this.capacity += spec.queueSize + max + (spec.ordered ? spec.queueSize + max : 0);
        if (spec.lastAt !== undefined) this.lasts = true;
        const fn = this.work(spec, spec.lastAt);
        let setups = 0;
        const stage = spec.perWorker
          ? perWorker<Item, Item | LastValue<Item>>(() => {
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
            return items;
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
        const stage = router((item: Item) => `a${item.id % labels}`, arms, {
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
        return { stage: fanOut(branches, (results) => merge(results[0] as Item, NO_CTX)), options: opts };
      }
      case "sub":
        return { stage: this.chain(spec.chain), options: {} };
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

const NO_CTX = {
  signal: new AbortController().signal,
  attempt: 1,
  stage: "merge",
  worker: { id: 0, data: {} },
};

describe("conservation over random topologies and faults (property)", () => {
  // Failing perWorker factories are logged once per stage: thousands of lines over the runs.
  beforeAll(() => void vi.spyOn(console, "error").mockImplementation(() => {}));
  afterAll(() => void vi.restoreAllMocks());

  it(
    "routers, fan-outs, batches, sub-flows, ordered stages, Last, retries, timeouts and failing setups lose nothing and hold no more than their queues",
    async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, async (sc) => {
          // FC_LOG=<file>: the scenario about to run is written there first, to catch one that hangs.
          if (process.env.FC_LOG) writeFileSync(process.env.FC_LOG, JSON.stringify(sc));
          const clock = new VirtualClock();
          const h = new Harness(clock);
          const consumed: number[] = [];
          const events: FlowErrorEvent[] = [];
          const emitted: DropReason[] = [];
          let maxHeld = 0;

          const build = (harness: Harness, maxTotalWorkers?: number): Flow<Item, Item> => {
            const flow = new Flow<Item, Item>({
              clock,
              tickMs: 7,
              ...(maxTotalWorkers ? { maxTotalWorkers } : {}),
            });
            for (const spec of sc.chain) {
              const { stage, options } = harness.node(spec);
              flow.addTransformer(stage as never, options as never);
            }
            harness.capacity += 3 + 2; // the consumer: queue 3, two workers
            flow.setConsumer(
              async (item: Item, ctx) => {
                await sleep(clock, 1, ctx.signal);
                consumed.push(item.id);
              },
              { queueSize: 3, scalingStrategy: new FixedScaling({ workers: 2 }) },
            );
            return flow;
          };
          // The budget is counted from the expanded stages of a throwaway build.
          const budgetExtra = (sc as { budgetExtra?: number | null }).budgetExtra ?? null;
          const budget =
            budgetExtra === null
              ? undefined
              : (
                  JSON.parse(build(new Harness(clock)).dump({ mode: "structure", format: "json" })) as {
                    stages: { kind: string }[];
                  }
                ).stages.filter((st) => st.kind !== "producer").length + budgetExtra;
          const f = build(h, budget);
          f.setErrorHandler((e) => void events.push(e));
          f.on("drop", (e) => void emitted.push(e.reason));

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
          let finished = false;
          if (sc.source === "push") {
            const input = f.push();
            void f.wait().then(() => (finished = true));
            void (async () => {
              for (let id = 0; id < sc.items; id++) {
                sample();
                if (id % 4 === 0) await sleep(clock, 1);
                // A send may be refused once the flow was stopped, drained or cut off by Last.
                if (
                  await input.send({ id }).then(
                    () => false,
                    () => true,
                  )
                )
                  break;
              }
              await input.complete().catch(() => {});
            })();
          } else {
            f.setProducer(
              sc.source === "async"
                ? async function* () {
                    for (let id = 0; id < sc.items; id++) {
                      sample();
                      if (id % 5 === 0) await sleep(clock, 1);
                      yield { id };
                    }
                  }
                : function* () {
                    for (let id = 0; id < sc.items; id++) {
                      sample();
                      yield { id };
                    }
                  },
            );
            await f.start();
            void f.wait().then(() => (finished = true));
          }
          await endRun(f, clock, sc.end, sc.endAtMs, () => finished, 300_000);

          const s = f.stats();
          // Conservation: each item taken is in exactly one terminal set.
          const { dropped } = expectConservation(f, consumed, events);
          // Dropped counts by reason match the events delivered, and each reason has a cause.
          const byReason: Record<string, number> = { STOPPED: 0, ROUTER_MISS: 0, UPSTREAM_TERMINATED: 0 };
          for (const e of events) if (e.type === "Dropped") byReason[e.reason]!++;
          expect(s.droppedByReason).toEqual(byReason);
          expect(emitted).toHaveLength(dropped.length);
          if (sc.end === "natural" || sc.end === "drain") expect(byReason.STOPPED).toBe(0);
          if (!h.routerMisses) expect(byReason.ROUTER_MISS).toBe(0);
          if (!h.lasts) expect(byReason.UPSTREAM_TERMINATED).toBe(0);
          if (sc.end === "natural" && !h.lasts) expect(s.itemsIn).toBe(sc.items);
          // Bounded memory: never more held than every queue, worker and reorder buffer together.
          expect(maxHeld).toBeLessThanOrEqual(h.capacity);
          // A worker budget is never exceeded.
          if (budget !== undefined) expect(maxActive).toBeLessThanOrEqual(budget);
          // Teardown count = setup count, and every worker is gone.
          expect(h.closed).toBe(h.opened);
          for (const st of s.stages) expect(st.totalWorkers).toBe(0);
        }),
        {
          numRuns: RUNS,
          seed: Number(process.env.FC_SEED ?? 20261123),
          examples: [[PUSH_DRAIN_MID_SPLIT]],
        },
      );
    },
    Math.max(20_000, RUNS * 200),
  ); // long runs (FC_RUNS=5000) get time in proportion
});
