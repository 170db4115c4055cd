import type { Redis } from "ioredis";
import { systemClock } from "../clock/clock.js";
import { TIMED_OUT, within } from "../clock/within.js";

/** Each item's outcome in a run's ledger: 4 bits at the item's id (0: none yet). */
export const OUTCOME_CODE = { consumed: 1, failed: 2, dropped: 3, skipped: 4, expanded: 5 } as const;
export type OutcomeKind = keyof typeof OUTCOME_CODE;

/** Item `id`'s outcome code in a run's outcomes as read from Redis (BITFIELD u4 at `#id`: big-endian nibbles). */
export function outcomeAt(outcomes: Uint8Array, id: number): number {
  const byte = outcomes[id >> 1] ?? 0;
  return (id & 1) === 0 ? byte >> 4 : byte & 15;
}

/**
 * What a run looks like from Redis: going on, stopped by its feeder, ended, or cut by a `Last(...)`
 * returned in the segment of remote stage `k` (`last:k`; 0 is the feeder's own segment): stages up to
 * there take no more of its items, those after finish what they have.
 */
export type RunState = "running" | "stopped" | "ended" | `last:${number}`;

/** Whether remote stage `index` (1 for the first) still runs a run's items in `state`. */
export function runsIn(state: RunState | null, index: number): boolean {
  if (state === "running") return true;
  return state?.startsWith("last:") === true && Number(state.slice(5)) < index;
}

// KEYS: outcomes, counts. ARGV: id, code, field, ttl. The first outcome of an item counts; a repeat
// (an item redelivered after its process died) is only counted as one. Keys written after the run's
// expired (a job left past keepRunSeconds) expire too. The outcome that completes the run (its
// feeder set `expected` once its source was done) is published on `<counts>:end`.
const RECORD = `
redis.call('EXPIRE', KEYS[1], ARGV[4], 'NX')
redis.call('EXPIRE', KEYS[2], ARGV[4], 'NX')
local old = redis.call('BITFIELD', KEYS[1], 'GET', 'u4', '#' .. ARGV[1])[1]
if old ~= 0 then redis.call('HINCRBY', KEYS[2], 'repeated', 1) return 0 end
redis.call('BITFIELD', KEYS[1], 'SET', 'u4', '#' .. ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
local done = redis.call('HINCRBY', KEYS[2], 'done', 1)
local expected = redis.call('HGET', KEYS[2], 'expected')
if expected and done >= tonumber(expected) then redis.call('PUBLISH', KEYS[2] .. ':end', done) end
return 1`;

// KEYS: counts. ARGV: expected, ttl. How many items have their outcome, once the run's total is known.
const EXPECT = `
redis.call('HSET', KEYS[1], 'expected', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2], 'NX')
return tonumber(redis.call('HGET', KEYS[1], 'done') or '0')`;

// KEYS: outcomes, then the item's job at each later remote stage. ARGV: id. 1 when the item went
// on past the stage asking (a later stage holds it, or it has its outcome).
const PROGRESSED = `
if redis.call('BITFIELD', KEYS[1], 'GET', 'u4', '#' .. ARGV[1])[1] ~= 0 then return 1 end
for i = 2, #KEYS do if redis.call('EXISTS', KEYS[i]) == 1 then return 1 end end
return 0`;

interface LedgerCommands {
  flowrhythmRecord(
    outcomes: string,
    counts: string,
    id: number,
    code: number,
    field: string,
    ttl: number,
  ): Promise<number>;
  flowrhythmProgressed(n: number, ...args: (string | number)[]): Promise<number>;
  flowrhythmExpect(counts: string, expected: number, ttl: number): Promise<number>;
}

/**
 * A run's accounting in Redis, shared by every process that serves it: each item's outcome (half a
 * byte per item id), the counts by outcome, and the run's state. The keys expire `keepRunSeconds`
 * after the feeder last touched them (it does so while the run goes on, and once at its end).
 */
export class Ledger {
  readonly #redis: Redis & LedgerCommands;

  constructor(
    redis: Redis,
    /** `<prefix>:<flow>`: what every key of the flow starts with. */
    readonly base: string,
    /** `keepRunSeconds`. */
    readonly keepSeconds: number,
  ) {
    const r = redis as Redis & LedgerCommands;
    if (typeof r.flowrhythmRecord !== "function") {
      redis.defineCommand("flowrhythmRecord", { numberOfKeys: 2, lua: RECORD });
      redis.defineCommand("flowrhythmProgressed", { lua: PROGRESSED });
      redis.defineCommand("flowrhythmExpect", { numberOfKeys: 1, lua: EXPECT });
    }
    this.#redis = r;
  }

  keys(runId: string): { outcomes: string; counts: string; state: string } {
    const run = `${this.base}:run:${runId}`;
    return { outcomes: `${run}:out`, counts: `${run}:n`, state: `${run}:state` };
  }

  /** Records item `id`'s outcome; false when it had one already (not counted again). */
  async record(runId: string, id: number, kind: OutcomeKind, field: string = kind): Promise<boolean> {
    const k = this.keys(runId);
    return (
      (await this.#redis.flowrhythmRecord(
        k.outcomes,
        k.counts,
        id,
        OUTCOME_CODE[kind],
        field,
        this.keepSeconds,
      )) === 1
    );
  }

  /** Whether item `id` went on past a stage: `laterJobs` are its job keys at the remote stages after it. */
  async progressed(runId: string, id: number, laterJobs: readonly string[]): Promise<boolean> {
    const k = this.keys(runId);
    return (await this.#redis.flowrhythmProgressed(1 + laterJobs.length, k.outcomes, ...laterJobs, id)) === 1;
  }

  /**
   * The run will have `expected` items (its source is done): returns how many have their outcome
   * already. The outcome that completes the run is published (see {@link onEnd}).
   */
  expect(runId: string, expected: number): Promise<number> {
    return this.#redis.flowrhythmExpect(this.keys(runId).counts, expected, this.keepSeconds);
  }

  /** Calls `end` when the outcome that completes run `runId` is recorded; returns what stops listening. */
  onEnd(runId: string, end: () => void): () => void {
    const sub = this.#redis.duplicate();
    sub.on("message", () => end());
    sub.on("error", () => {});
    // Not waited for (Redis may be down): the caller reads the counts after this anyway.
    sub.subscribe(`${this.keys(runId).counts}:end`).catch(() => {});
    return () => sub.disconnect();
  }

  /** The run's counts: `consumed`, `failed`, `skipped`, `expanded`, `dropped:<reason>`, `repeated`, `done`. */
  async counts(runId: string): Promise<Record<string, number>> {
    const raw = await this.#redis.hgetall(this.keys(runId).counts);
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw)) out[k] = Number(v);
    return out;
  }

  /** Each item's outcome code (0 where none yet), for ids 1..`last`. */
  async outcomes(runId: string, last: number): Promise<Uint8Array> {
    const buf = (await this.#redis.getBuffer(this.keys(runId).outcomes)) ?? Buffer.alloc(0);
    const out = new Uint8Array(last + 1);
    for (let id = 1; id <= last; id++) out[id] = outcomeAt(buf, id);
    return out;
  }

  async setState(runId: string, state: RunState, ttlSeconds: number): Promise<void> {
    await this.#redis.set(this.keys(runId).state, state, "EX", ttlSeconds);
  }

  /** A `Last(...)` in the segment of remote stage `index` cut the run (an earlier cut stands). */
  async cut(runId: string, index: number): Promise<void> {
    const key = this.keys(runId).state;
    for (;;) {
      const state = (await this.#redis.get(key)) as RunState | null;
      if (state !== "running") return;
      // Only over "running": a feeder's stop or an earlier cut wins.
      if ((await this.#redis.set(key, `last:${index}`, "KEEPTTL", "XX", "GET")) === "running") return;
    }
  }

  /** The states of `runIds` (`null` for a run whose keys are gone). */
  async states(runIds: readonly string[]): Promise<(RunState | null)[]> {
    if (runIds.length === 0) return [];
    return (await this.#redis.mget(...runIds.map((r) => this.keys(r).state))) as (RunState | null)[];
  }

  /** Keeps the run's keys `ttlSeconds` more. */
  async touch(runId: string, ttlSeconds: number): Promise<void> {
    const k = this.keys(runId);
    await this.#redis
      .multi()
      .expire(k.outcomes, ttlSeconds)
      .expire(k.counts, ttlSeconds)
      .expire(k.state, ttlSeconds)
      .exec();
  }
}

/** How long a call to Redis on a way out (stop, close) may take before it is given up on. */
export const EXIT_WAIT_MS = 1_000;

/**
 * `p`, given up on after `ms` (Redis down: its client queues commands until it is back): true if
 * it settled in time without an error.
 */
export async function bounded(p: PromiseLike<unknown>, ms = EXIT_WAIT_MS): Promise<boolean> {
  try {
    return (await within(systemClock, p, ms)) !== TIMED_OUT;
  } catch {
    return false;
  }
}
