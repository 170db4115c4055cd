import { build, type Histogram } from "hdr-histogram-js";
import { Flow } from "../flow/flow.js";
import { type Clock, systemClock } from "../clock/clock.js";
import { FixedScaling } from "../scaling/fixed-scaling.js";
import type { ScalingStrategy } from "../scaling/scaling-strategy.js";
import { FifoSemaphore } from "./fifo-semaphore.js";
import { computeMetrics, type ScenarioMetrics } from "./metrics.js";
import { BIN_MS, phaseStarts, type RunRecord, WARMUP_MS } from "./run-record.js";
import { exponential, lognormal, pareto, seededRandom } from "./random.js";
import { type Phase, parseScenario, type Scenario } from "./scenario.js";
import { VirtualClock } from "../clock/virtual-clock.js";
import { bool, whole } from "../internal/option-fields.js";
import { type OptionsInput, optionsObject, parseOptions } from "../internal/parse-options.js";
import { parseStrategy } from "../model/options.js";
import { perWorker } from "../model/per-worker.js";

const optionsShape = {
  /** Seeds the arrivals and the processing times (a whole number). @defaultValue 1 */
  seed: whole(0, 2 ** 32 - 1).default(1),
  /** Run on the system clock, in real time, instead of virtual time. @defaultValue false */
  realtime: bool().default(false),
};

/** How to run a scenario. */
export interface SimulateOptions extends OptionsInput<typeof optionsShape> {}

const optionsSchema = optionsObject(optionsShape);

export { BIN_MS, phaseStarts, type RunRecord, WARMUP_MS };

/** The result of {@link simulate}: the metrics and the worker timeline. */
export interface SimulationResult {
  /** The run's figures. */
  readonly metrics: ScenarioMetrics;
  /** What the run recorded, for figures of one's own. */
  readonly record: RunRecord;
}

const histogram = (): Histogram =>
  build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

/**
 * Runs the real `Flow` — its queues, workers and scaling controller — through one scenario with
 * one strategy: a seeded Poisson source, simulated processing times, the scenario's dependency
 * and downstream stage. Under virtual time (the default) a minute of traffic takes a second or
 * two; with `realtime` it takes a minute.
 */
export async function simulate(
  scenarioInput: Scenario,
  strategyInput: ScalingStrategy,
  optionsInput?: SimulateOptions,
): Promise<SimulationResult> {
  const scenario = parseScenario(scenarioInput, "simulate: scenario");
  const strategy = parseStrategy(strategyInput, "simulate", "strategy");
  const options = parseOptions(optionsSchema, optionsInput, "simulate");
  const sim = options.realtime ? null : new VirtualClock(0, { gridMs: 0.5 });
  const clock: Clock = sim ?? systemClock;
  const t0 = clock.now();
  const random = seededRandom(options.seed);
  const starts = phaseStarts(scenario);
  const durationMs = starts[starts.length - 1]!;
  const bins = Math.ceil(durationMs / BIN_MS) + 1;
  const completions = new Uint32Array(bins);
  const offered = new Uint32Array(bins);
  const waitAll = histogram();
  const waitSteady = histogram();
  const processing = histogram();
  const timeline: [number, number][] = [];
  const reasons: string[] = [];
  const phases = scenario.phases;
  const baseService = scenario.serviceMs;
  const dist = scenario.service;
  const cv = scenario.serviceCv;
  const semaphore = scenario.dependencySlots ? new FifoSemaphore(scenario.dependencySlots) : null;
  const overload = scenario.overload ?? null;
  const batchItems = scenario.batchItems ?? 0;
  let inFlight = 0;
  let calls = 0;
  let refused = 0;
  let failed = 0;
  let completed = 0;
  let completedAtMs = Number.NaN;
  const elapsed = (): number => clock.now() - t0;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => clock.setTimeout(resolve, ms));

  let cursor = 0;
  const phaseAt = (t: number): Phase => {
    if (t < starts[cursor]!) cursor = 0;
    while (cursor < phases.length - 1 && t >= starts[cursor + 1]!) cursor++;
    return phases[cursor]!;
  };
  const serviceTime = (mean: number): number =>
    dist === "constant"
      ? mean
      : dist === "exponential"
        ? exponential(random, mean)
        : dist === "pareto"
          ? pareto(random, mean, cv)
          : lognormal(random, mean, cv);
  const perInFlight = scenario.latencyPerInFlightMs ?? 0;

  interface Item {
    enqueuedAt: number;
  }

  // A batch job: a list whose items are all there at t = 0 (the source blocks on a full queue).
  function* list(): Generator<Item> {
    offered[0] = batchItems;
    for (let i = 0; i < batchItems; i++) yield { enqueuedAt: elapsed() };
  }

  async function* source(): AsyncGenerator<Item> {
    let t = 0;
    let i = 0;
    while (i < phases.length) {
      const p = phases[i]!;
      const from = p.rate;
      const to = p.rateTo ?? from;
      // A ramp is a Poisson process of varying rate: candidates at the phase's highest rate, each
      // kept with probability rate(t) / highest (thinning).
      const rate = Math.max(from, to);
      const end = starts[i + 1]!;
      const next = rate > 0 ? t + exponential(random, 1000 / rate) : Number.POSITIVE_INFINITY;
      if (next >= end) {
        t = end;
        i++;
        continue;
      }
      t = next;
      if (to !== from) {
        const at = from + ((to - from) * (t - starts[i]!)) / (end - starts[i]!);
        if (random() * rate >= at) continue;
      }
      offered[Math.floor(t / BIN_MS)]!++;
      const now = elapsed();
      if (t > now) await sleep(t - now);
      yield { enqueuedAt: elapsed() };
    }
    // A silent last phase is part of the run: the source stays open until the end.
    const now = elapsed();
    if (now < durationMs) await sleep(durationMs - now);
  }

  const stage = async (item: Item): Promise<Item> => {
    const start = elapsed();
    const wait = Math.max(0, start - item.enqueuedAt);
    waitAll.recordValue(Math.round(wait * 1000));
    let since = start;
    for (let k = starts.length - 2; k >= 0; k--)
      if (start >= starts[k]!) {
        since = start - starts[k]!;
        break;
      }
    if (since > 10_000) waitSteady.recordValue(Math.round(wait * 1000));
    const ms = serviceTime(phaseAt(start).serviceMs ?? baseService);
    if (overload !== null) {
      const counted = elapsed() >= WARMUP_MS;
      if (counted) calls++;
      if (inFlight >= overload.maxInFlight) {
        if (counted) refused++;
        await sleep(overload.failMs);
        throw Object.assign(new Error("429 Too Many Requests"), { status: 429 });
      }
    }
    inFlight++;
    if (semaphore) {
      const p = semaphore.acquire();
      if (p) await p;
    }
    await sleep(perInFlight > 0 ? ms + perInFlight * inFlight : ms);
    semaphore?.release();
    inFlight--;
    processing.recordValue(Math.round((elapsed() - start) * 1000));
    return item;
  };

  const startupMs = scenario.startupMs ?? 0;
  // Retry jitter draws from its own seeded stream, so a run replays without the arrivals shifting.
  const jitter = seededRandom(options.seed + 0x9e3779b9);
  const base = new Flow({
    clock,
    random: jitter,
    errorHandler: (e) => {
      if (e.type === "TransformerError") failed++;
    },
  }).setProducer<Item>(batchItems > 0 ? list() : source());
  const stageOptions = {
    name: "stage",
    scalingStrategy: strategy,
    queueSize: scenario.queueSize,
    ...(scenario.retryAttempts ? { retry: { attempts: scenario.retryAttempts } } : {}),
  };
  const f =
    startupMs > 0
      ? base.addTransformer(
          perWorker<Item, Item>(async () => {
            await sleep(startupMs);
            return { process: stage };
          }),
          stageOptions,
        )
      : base.addTransformer(stage, stageOptions);
  const ds = scenario.downstream;
  const tail = ds
    ? f.addTransformer(
        async (item: Item) => {
          await sleep(ds.serviceMs);
          return item;
        },
        {
          name: "downstream",
          scalingStrategy: new FixedScaling({ workers: ds.workers }),
          queueSize: ds.queueSize,
        },
      )
    : f;
  tail.setConsumer((_item: Item) => {
    const t = elapsed();
    if (t < durationMs) completions[Math.floor(t / BIN_MS)]!++;
    if (++completed === batchItems) completedAtMs = t;
  });
  f.on("scale", (e) => {
    if (e.stage !== "stage") return;
    timeline.push([elapsed(), e.to]);
    if (reasons.length < 10_000)
      reasons.push(`${(elapsed() / 1000).toFixed(2)}s ${e.from}→${e.to} ${e.reason}`);
  });
  await f.start();
  timeline.unshift([0, f.stageStats("stage")?.activeWorkers ?? 0]);
  if (batchItems > 0) {
    // A batch ends when its items do (or at the time limit).
    let done = false;
    void f.wait().then(() => (done = true));
    if (sim) await sim.runUntil(() => done || elapsed() >= durationMs, { stepMs: 5, maxMs: durationMs + 10 });
    else await Promise.race([f.wait(), sleep(durationMs)]);
  } else if (sim) await sim.advanceTo(t0 + durationMs);
  else await sleep(durationMs - elapsed());
  const stopped = f.stop();
  if (sim) await sim.advanceTo(sim.now() + 60_000);
  await stopped;
  const record: RunRecord = {
    scenario,
    durationMs,
    completions,
    offered,
    timeline,
    waitAll,
    waitSteady,
    processing,
    scaleReasons: reasons,
    completedAtMs,
    callsAfterWarmup: calls,
    overloadsAfterWarmup: refused,
    failedItems: failed,
  };
  return { metrics: computeMetrics(record), record };
}
