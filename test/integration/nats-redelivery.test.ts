// An acknowledging source against a real broker: a worker process consuming a NATS JetStream
// durable consumer through `acked(...)` is SIGKILLed mid-run, and a second one finishes the job.
// Nothing is lost, and the only messages handled twice are ones the killed process held un-acked.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NATS_URL, type TestStream, testStream } from "../support/nats.js";

const N = 300;
const KILL_AFTER = 100;
const ACK_WAIT_MS = 2_000;
const LIMITS = {
  maxMessages: 20,
  validate: { workers: 2, queueSize: 8 },
  store: { workers: 4, queueSize: 8 },
};
/** The most messages the worker can hold un-acked: the client's buffer, the one the pump has, queues, workers. */
const IN_FLIGHT =
  LIMITS.maxMessages +
  1 +
  LIMITS.validate.queueSize +
  LIMITS.validate.workers +
  LIMITS.store.queueSize +
  LIMITS.store.workers;
const worker = fileURLToPath(new URL("./fixtures/nats-worker.ts", import.meta.url));
/** Worker processes still running: killed after a failed test, so that none outlives it. */
const alive = new Set<ChildProcess>();

/** What one worker process did, from its stdout. */
interface Run {
  received: { n: number; delivery: number }[];
  consumed: number[];
  acked: Set<number>;
  nacked: Set<number>;
  stats?: { itemsIn: number; consumed: number; failed: number; dropped: number };
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/** Runs the worker; `kill(run)` is asked after every line whether to SIGKILL it now. */
async function runWorker(s: TestStream, kill: (run: Run) => boolean = () => false): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", worker], {
    env: { ...process.env, NATS_URL, STREAM: s.stream, DURABLE: s.durable, LIMITS: JSON.stringify(LIMITS) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  alive.add(child);
  child.on("exit", () => alive.delete(child));
  const run: Run = {
    received: [],
    consumed: [],
    acked: new Set(),
    nacked: new Set(),
    signal: null,
    code: null,
    stderr: "",
  };
  child.stderr.on("data", (d) => (run.stderr += d));
  const lines = createInterface({ input: child.stdout });
  let killed = false;
  lines.on("line", (line) => {
    const [ev, a, b] = line.split(" ");
    if (ev === "r") run.received.push({ n: Number(a), delivery: Number(b) });
    else if (ev === "c") run.consumed.push(Number(a));
    else if (ev === "a") run.acked.add(Number(a));
    else if (ev === "x") run.nacked.add(Number(a));
    else if (ev === "end") run.stats = JSON.parse(line.slice(4));
    if (!killed && kill(run)) {
      killed = true;
      child.kill("SIGKILL");
    }
  });
  const [[code, signal]] = await Promise.all([
    once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>,
    once(lines, "close"), // every line the worker wrote before it died
  ]);
  return { ...run, code, signal };
}

describe("an acked JetStream source, its process killed mid-run", () => {
  let s: TestStream;
  beforeAll(async () => {
    s = await testStream({ prefix: "FR_REDELIVERY", ackWaitMs: ACK_WAIT_MS });
  }, 15_000);
  afterAll(async () => {
    for (const child of alive) child.kill("SIGKILL");
    await s?.close();
  });

  it("loses nothing, and handles twice only what the killed process held un-acked", async () => {
    const started = Date.now();
    await s.publish(Array.from({ length: N }, (_, n) => ({ n })));

    const victim = await runWorker(s, (run) => run.consumed.length >= KILL_AFTER);
    expect(victim.signal, victim.stderr).toBe("SIGKILL");
    await new Promise((r) => setTimeout(r, 100)); // the server reads the acks the worker had sent
    const afterKill = await s.info();

    const survivor = await runWorker(s);
    expect(survivor.code, survivor.stderr).toBe(0);
    const final = await s.info();

    const victimConsumed = new Set(victim.consumed);
    const victimReceived = new Set(victim.received.map((r) => r.n));
    const redelivered = new Set(survivor.received.filter((r) => r.delivery > 1).map((r) => r.n));
    const consumedTwice = survivor.consumed.filter((n) => victimConsumed.has(n));
    const heldUnacked = [...victimReceived].filter((n) => !victim.acked.has(n));
    const ackLost = [...redelivered].filter((n) => victim.acked.has(n));
    console.log(
      JSON.stringify({
        ms: Date.now() - started,
        victim: {
          received: victimReceived.size,
          consumed: victimConsumed.size,
          acked: victim.acked.size,
          heldUnacked: heldUnacked.length,
        },
        afterKill: { num_pending: afterKill.num_pending, num_ack_pending: afterKill.num_ack_pending },
        survivor: {
          received: survivor.received.length,
          redelivered: redelivered.size,
          consumed: survivor.consumed.length,
          stats: {
            itemsIn: survivor.stats?.itemsIn,
            consumed: survivor.stats?.consumed,
            failed: survivor.stats?.failed,
            dropped: survivor.stats?.dropped,
          },
        },
        final: { num_pending: final.num_pending, num_ack_pending: final.num_ack_pending },
        consumedTwice,
        consumedUnacked: [...victimConsumed].filter((n) => !victim.acked.has(n)),
        ackLost,
        inFlightBound: IN_FLIGHT,
      }),
    );

    // The kill came mid-run, with no redelivery before it (ack_wait is long enough for the worker).
    expect(victimConsumed.size).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(victimConsumed.size).toBeLessThan(N);
    expect(victim.received.every((r) => r.delivery === 1)).toBe(true);
    expect(victim.nacked.size + survivor.nacked.size).toBe(0);

    // None lost: every message consumed, by one process or the other.
    const all = new Set([...victim.consumed, ...survivor.consumed]);
    expect([...Array(N).keys()].filter((n) => !all.has(n))).toEqual([]);
    // Each process consumed each message at most once.
    expect(victim.consumed).toHaveLength(victimConsumed.size);
    expect(survivor.consumed).toHaveLength(new Set(survivor.consumed).size);

    // JetStream redelivers exactly what it had delivered to the victim without an ack: every message
    // the victim's flow took and never acked, and the ones still in the client's buffer.
    expect(redelivered.size).toBe(afterKill.num_ack_pending);
    for (const n of heldUnacked) expect(redelivered.has(n), `held un-acked: ${n}`).toBe(true);
    // That is bounded by what the process can hold (an ack the flow called but the kill kept from
    // leaving the process, ackLost, on top): the client's buffer, the pump's item, queues, workers.
    expect(redelivered.size).toBeLessThanOrEqual(IN_FLIGHT + ackLost.length);
    expect(ackLost.length).toBeLessThanOrEqual(LIMITS.store.workers);
    // Consumed twice: exactly the messages the victim wrote and never acked (at most one per
    // consumer worker, caught between its write and the end of its call), and the lost acks.
    const consumedUnacked = [...victimConsumed].filter((n) => !victim.acked.has(n));
    expect(consumedUnacked.length).toBeLessThanOrEqual(LIMITS.store.workers);
    expect(consumedTwice.sort((a, b) => a - b)).toEqual(
      [...consumedUnacked, ...ackLost].sort((a, b) => a - b),
    );
    // The rest were never delivered before: the survivor has them first-hand.
    expect(survivor.received.filter((r) => r.delivery === 1)).toHaveLength(afterKill.num_pending);
    expect(survivor.received.every((r) => r.delivery <= 2)).toBe(true);

    expect(survivor.stats).toMatchObject({ consumed: survivor.consumed.length, failed: 0, dropped: 0 });
    expect(final.num_pending).toBe(0);
    expect(final.num_ack_pending).toBe(0);
  }, 30_000);
});
