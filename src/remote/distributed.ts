import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { FlowConfigError } from "../errors.js";
import { Flow } from "../flow/flow.js";
import { Deferred } from "../internal/deferred.js";
import { whenAborted } from "../internal/shared-listener.js";
import { SEGMENT } from "../flow/observe.js";
import { TREE } from "../model/composable.js";
import { FLOW_EVENTS } from "../model/events.js";
import type { StageDef } from "../model/stage-tree.js";
import type { Source } from "../model/types.js";
import { FixedScaling } from "../scaling/fixed-scaling.js";
import type { ScalingStrategy } from "../scaling/scaling-strategy.js";
import type { FlowStats } from "../stats/stage-stats.js";
import { ItemCodecError, jsonCodec } from "./json-codec.js";
import { bounded, Ledger } from "./ledger.js";
import {
  type DistributeOptions,
  type DistributeSettings,
  parseDistributeOptions,
  parseRunRemoteOptions,
  parseServeOptions,
} from "./options.js";
import { checkSource } from "../flow/checks.js";
import { QueueRoom, remoteSink } from "./remote-sink.js";
import { FeederRun } from "./feeder-run.js";
import { StageServer } from "./stage-server.js";
import { cutAtRemote, type FlowTopology, type Segment, type Topology } from "./topology.js";

/** The events a segment's flow passes on to the flow the user built (its run's end is the handle's). */
const FORWARDED = FLOW_EVENTS.filter((e) => e !== "drained" && e !== "stopped" && e !== "stats");
/** How many of BullMQ's events each remote stage's queue keeps in Redis. */
const EVENTS_KEPT = 1_000;
/** How long the topology claim lives without a live process refreshing it. */
const TOPOLOGY_TTL_S = 30;

/** How the feeding process runs: see {@link Distributed.run}. */
export interface RunRemoteOptions {
  /** Stops the run everywhere (as `stop()`) when it aborts. */
  readonly signal?: AbortSignal;
  /** How many items the source will give, when it cannot tell (see `FlowStats.total`). */
  readonly total?: number;
  /** SIGTERM or SIGINT drains the run (no more items from the source; the run ends everywhere); a second one stops it. */
  readonly handleSignals?: boolean;
}

/** How a serving process runs: see {@link Distributed.serve}. */
export interface ServeOptions {
  /** Stops serving (as `stop()`) when it aborts. */
  readonly signal?: AbortSignal;
  /** SIGTERM or SIGINT drains this process's held items and ends serving; a second one stops. */
  readonly handleSignals?: boolean;
}

/**
 * A flow whose remote stages keep their input queues in Redis (BullMQ). Every process that runs the
 * same flow definition builds one; one of them feeds it with `run(source)`, and every one — the
 * feeder too, unless `serve: false` — serves the remote stages (`serve()` serves without feeding).
 * See docs/remote.md.
 */
export class Distributed<I = unknown, O = unknown> {
  readonly #topology: Topology;
  readonly #settings: DistributeSettings;
  readonly #flow: Flow<unknown, unknown>;
  readonly #codec;
  #redis: Redis | null = null;
  #ledger: Ledger | null = null;
  readonly #queues = new Map<string, Queue>();
  readonly #rooms = new Map<string, QueueRoom>();
  #servers: StageServer[] = [];
  #serving: Promise<void> | null = null;
  #endServing: (() => void) | null = null;
  #feeder: FeederRun | null = null;
  /** Set from `start()` until its run has ended. */
  #feeding = false;
  /** The run started last, to its end. */
  #run: Promise<void> | null = null;
  /** Settles once the run started last has begun (or failed to). */
  #starting: Promise<void> | null = null;
  /** The run fed last (its stats stay readable after it ends). */
  #lastRun: FeederRun | null = null;
  #claim: ReturnType<typeof setInterval> | null = null;
  readonly #faultsTold = new Map<string, number>();

  constructor(flow: Flow<I, O>, options: DistributeOptions) {
    if (!(flow instanceof Flow))
      throw new FlowConfigError("distribute: flow: expected a Flow (new Flow(…) or flow(…))", {
        option: "flow",
      });
    this.#settings = parseDistributeOptions(options);
    this.#flow = flow as unknown as Flow<unknown, unknown>;
    this.#codec = this.#settings.codec ?? jsonCodec;
    this.#topology = cutAtRemote(flow[TREE]().tree, flow.name, this.#settings.remote);
  }

  /** The remote stages, in chain order, and the hash every process serving the flow must match. */
  get topology(): FlowTopology {
    return { remote: this.#topology.remote, hash: this.#topology.hash };
  }

  get #base(): string {
    return `${this.#settings.prefix}:${this.#flow.name}`;
  }

  /**
   * Feeds the flow from `source` and resolves once every item of the run has its outcome, in
   * whichever process it ended (`start()` + `wait()`). Serves the remote stages here too unless
   * `serve: false`.
   */
  async run(source: Source<I>, options: RunRemoteOptions = {}): Promise<void> {
    await this.start(source, options);
    await this.wait();
  }

  /** Starts feeding `source`: resolves once this process has joined and the run has begun. */
  async start(source: Source<I>, runOptions: RunRemoteOptions = {}): Promise<void> {
    checkSource(source, "start");
    const options = parseRunRemoteOptions(runOptions);
    if (this.#feeding)
      throw new FlowConfigError("start(): this process is feeding a run already", { code: "ERR_FLOW_STATE" });
    this.#feeding = true;
    const started = new Deferred<void>();
    this.#starting = started.promise;
    this.#run = this.#feed(source, options, started);
    this.#run.catch(() => {}); // the caller sees it through wait() (or start() below)
    await started.promise;
  }

  /** Resolves once the run started last has ended everywhere (every item has its outcome). */
  wait(): Promise<void> {
    return (
      this.#run ??
      Promise.reject(new FlowConfigError("wait(): no run was started", { code: "ERR_FLOW_STATE" }))
    );
  }

  async #feed(
    source: Source<I>,
    options: ReturnType<typeof parseRunRemoteOptions>,
    started: Deferred<void>,
  ): Promise<void> {
    let feeder: FeederRun;
    try {
      await this.#join();
      if (this.#settings.serve) this.#startServing();
      feeder = new FeederRun(randomUUID(), this.#ledger!, this.#settings.keepRunSeconds, (run) =>
        this.#segmentFlow(this.#topology.segments[0]!, run, null),
      );
    } catch (error) {
      this.#feeding = false;
      started.reject(error);
      throw error;
    }
    this.#feeder = feeder;
    this.#lastRun = feeder;
    started.resolve();
    const unlisten = options.handleSignals === true ? this.#onSignals(() => this.drain()) : () => {};
    try {
      await feeder.run(source, options);
    } finally {
      unlisten();
      this.#feeder = null;
      this.#feeding = false;
      this.#flow.emit(feeder.stopped ? "stopped" : "drained");
    }
  }

  /** Serves the remote stages (without feeding) until `drain()`, `stop()`, the signal, or SIGTERM. */
  async serve(options: ServeOptions = {}): Promise<void> {
    const { signal, handleSignals } = parseServeOptions(options);
    await this.#join();
    const serving = this.#startServing();
    const off = whenAborted(signal, () => void this.stop());
    const unlisten = handleSignals === true ? this.#onSignals(() => this.#stopServing(false)) : () => {};
    try {
      await serving;
    } finally {
      off();
      unlisten();
    }
  }

  // SIGTERM or SIGINT: `first` (a drain); a second one stops. Returns what removes the listeners.
  #onSignals(first: () => Promise<void>): () => void {
    let signals = 0;
    const onSignal = () => void (++signals === 1 ? first() : this.stop());
    for (const s of ["SIGTERM", "SIGINT"] as const) process.on(s, onSignal);
    return () => {
      for (const s of ["SIGTERM", "SIGINT"] as const) process.off(s, onSignal);
    };
  }

  /** The feeder: takes no more items from the source and resolves once the run has ended everywhere. A server: finishes what it holds and stops serving. */
  async drain(): Promise<void> {
    await this.#starting?.catch(() => {});
    // The run first: what it has queued in Redis still needs serving, here too.
    await this.#feeder?.drain();
    await this.#stopServing(false);
  }

  /** The feeder: stops the run everywhere (what is queued in Redis is dropped, reported). A server: hands what it holds back to the queue. */
  async stop(): Promise<void> {
    await this.#starting?.catch(() => {}); // a run still joining is stopped once it has begun
    const feeder = this.#feeder;
    if (feeder !== null) for (const server of this.#servers) server.runStopped(feeder.runId);
    await Promise.all([feeder?.stop(), this.#stopServing(true)]);
  }

  /** Ends serving and closes the connections. */
  async close(): Promise<void> {
    await this.stop();
    if (this.#claim !== null) clearInterval(this.#claim);
    // A queue still connecting is waited for first: closing it then races in BullMQ (an 'error' with no listener).
    await Promise.all(
      [...this.#queues.values()].map(async (q) => (await bounded(q.waitUntilReady())) && bounded(q.close())),
    );
    for (const q of this.#queues.values()) void q.disconnect().catch(() => {});
    this.#queues.clear();
    this.#redis?.disconnect();
    this.#redis = null;
  }

  /**
   * The feeder's run: its counts are the whole run's, wherever items ended (read from Redis on the
   * feeder's tick); `stages` are the stages running in this process.
   */
  stats(): FlowStats {
    const run = this.#lastRun;
    const local = [...(run ? [run.flow] : []), ...this.#servers.flatMap((s) => s.flows())];
    const stages = local.flatMap((f) => f.stats().stages);
    const base = run?.stats() ?? this.#flow.stats();
    return Object.freeze({ ...base, stages: Object.freeze(stages) });
  }

  /** The id of the run this process fed last (`ctx.runId` in its stages), or `null`. */
  get runId(): string | null {
    return this.#lastRun?.runId ?? null;
  }

  /** Items this process holds in its remote stages now. */
  get held(): number {
    return this.#servers.reduce((n, s) => n + s.held, 0);
  }

  // Connects, and claims the flow's topology in Redis (or checks it matches the one claimed).
  async #join(): Promise<void> {
    if (this.#redis !== null) return;
    const redis = new Redis({ ...this.#settings.connection, maxRetriesPerRequest: null, lazyConnect: true });
    redis.on("error", (error) => this.#fault("the connection to Redis", error));
    await redis.connect();
    const key = `${this.#base}:topology`;
    const mine = this.#topology.hash;
    const claimed = await redis.set(key, mine, "EX", TOPOLOGY_TTL_S, "NX", "GET");
    if (claimed !== null && claimed !== mine) {
      redis.disconnect();
      throw new FlowConfigError(
        `distribute: flow "${this.#flow.name}" runs in Redis with another topology (${claimed}; this process has ${mine}): its stages' names or shapes differ. Stop the other processes, or give this flow another name`,
        { code: "ERR_FLOW_STATE", option: "topology" },
      );
    }
    this.#redis = redis;
    this.#ledger = new Ledger(redis, this.#base, this.#settings.keepRunSeconds);
    this.#claim = setInterval(() => void redis.set(key, mine, "EX", TOPOLOGY_TTL_S).catch(() => {}), 10_000);
    this.#claim.unref();
  }

  #startServing(): Promise<void> {
    if (this.#serving !== null) return this.#serving;
    const s = this.#settings;
    const remote = this.#topology.remote;
    this.#servers = this.#topology.segments.slice(1).map((segment, k) => {
      const stage = segment.remote!;
      const later = remote.slice(k + 1).map((r) => `${s.prefix}:${this.#queueName(r)}`);
      const def = segment.nodes[0]?.def ?? segment.consumer!;
      return new StageServer({
        stage,
        index: k + 1,
        queueName: this.#queueName(stage),
        connection: s.connection,
        prefix: s.prefix,
        ledger: this.#ledger!,
        codec: this.#codec,
        lockMs: s.lockMs,
        maxStalledCount: s.maxStalledCount,
        prefetch: s.prefetch ?? prefetchOf(def, this.#flow[TREE]().defaultStrategy),
        last: segment.next === null,
        laterJobKeys: (jobId) => later.map((q) => `${q}:${jobId}`),
        makeFlow: (runId, idOf) => this.#segmentFlow(segment, runId, idOf),
        fault: (what, error) => this.#fault(what, error),
        failed: (runId, id, at, error) => this.#failedBeforeRun(runId, id, at, error),
      });
    });
    this.#serving = new Promise((resolve) => {
      this.#endServing = resolve;
    });
    return this.#serving;
  }

  async #stopServing(abort: boolean): Promise<void> {
    const servers = this.#servers;
    if (servers.length === 0 && this.#endServing === null) return;
    await Promise.all(servers.map((s) => (abort ? s.stop() : s.drain())));
    this.#servers = [];
    this.#endServing?.();
    this.#endServing = null;
    this.#serving = null;
  }

  #queueName(stage: string): string {
    return `${this.#flow.name}.${stage}`;
  }

  #queue(stage: string): Queue {
    let q = this.#queues.get(stage);
    if (q === undefined) {
      q = new Queue(this.#queueName(stage), {
        connection: { ...this.#settings.connection, maxRetriesPerRequest: null },
        prefix: this.#settings.prefix,
        // BullMQ's event stream per queue, which nothing here reads: kept short (10,000 by default).
        streams: { events: { maxLen: EVENTS_KEPT } },
      });
      q.on("error", (error) => this.#fault(`BullMQ queue of stage "${stage}"`, error));
      this.#queues.set(stage, q);
    }
    return q;
  }

  // The flow one process runs for a segment: its stages, then the consumer or the next queue.
  #segmentFlow(segment: Segment, runId: string, idOf: (() => number) | null): Flow<unknown, unknown> {
    const consumer = segment.consumer ?? this.#sink(segment.next!);
    const f = this.#flow[SEGMENT](segment.nodes, consumer, { runId, idOf });
    const user = this.#flow;
    for (const event of FORWARDED)
      f.on(event, (...args: unknown[]) => {
        if (user.listenerCount(event) > 0)
          (user.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
      });
    return f;
  }

  #sink(next: string): StageDef {
    const queue = this.#queue(next);
    let room = this.#rooms.get(next);
    if (room === undefined) {
      const def = this.#topology.segments.find((s) => s.remote === next)!;
      const capacity = (def.nodes[0]?.def ?? def.consumer!).options.queueSize ?? 1024;
      room = new QueueRoom(queue, capacity);
      this.#rooms.set(next, room);
    }
    const sinkFlow = new Flow().setConsumer(remoteSink(queue, room, this.#codec), {
      name: `${next}:send`,
      scalingStrategy: new FixedScaling({ workers: 8 }),
      retry: {
        attempts: 5,
        backoff: { baseMs: 100, maxMs: 2_000 },
        retryOn: (e) => !(e instanceof ItemCodecError),
      },
    });
    return sinkFlow[TREE]().tree.consumer!;
  }

  // What failed outside any item (a connection, a record being retried): told on stderr, at most
  // once per thing every 10 s (a Redis outage would otherwise print a line per command).
  #fault(what: string, error: unknown): void {
    const now = Date.now();
    if ((this.#faultsTold.get(what) ?? 0) > now - 10_000) return;
    this.#faultsTold.set(what, now);
    if (this.#faultsTold.size > 100) this.#faultsTold.clear();
    console.error(`[flowrhythm] ${what} failed (told at most once every 10 s):`, error);
  }

  // An item that failed before its segment could run it: recorded, and told to the flow's listeners.
  async #failedBeforeRun(runId: string, id: number, stage: string, error: unknown): Promise<void> {
    if (!(await this.#ledger!.record(runId, id, "failed"))) return;
    const event = { type: "TransformerError" as const, id, runId, item: undefined, error, stage, attempt: 0 };
    if (this.#flow.listenerCount("itemError") > 0) this.#flow.emit("itemError", event);
    else console.error(`[flowrhythm] item ${id} of run ${runId} failed in stage "${stage}":`, error);
  }
}

/**
 * How many jobs of a remote stage a process holds by default: twice the most workers the stage may
 * run (one batch in the calls, one ready), 2 to 256. Holding more starved the other processes and,
 * with 256, made BullMQ's lock renewals queue behind hundreds of fetches until locks lapsed.
 */
function prefetchOf(def: StageDef, flowDefault: ScalingStrategy | undefined): number {
  const strategy = def.options.scalingStrategy ?? def.fallbackStrategy ?? flowDefault;
  const max = strategy?.maxWorkers ?? 1;
  return Math.max(2, Math.min(256, 2 * max));
}

/** Runs `flow` across processes, its remote stages' queues in Redis: see {@link Distributed}. */
export function distribute<I, O>(flow: Flow<I, O>, options: DistributeOptions): Distributed<I, O> {
  return new Distributed(flow, options);
}
