import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { outcomeAt, OUTCOME_CODE } from "../../src/remote/ledger.js";
import { freshPrefix, redisUp } from "./redis-up.js";

const NODE = fileURLToPath(new URL("./fixtures/node.mts", import.meta.url));
const N = 20_000;
let redis: Redis;
beforeAll(async () => {
  redis = await redisUp();
});
afterAll(() => redis.disconnect());

interface Proc {
  child: ChildProcess;
  out: string;
  exited: Promise<number | null>;
  ready: Promise<void>;
}

function start(role: "feed" | "serve", prefix: string, n = N): Proc {
  const child = spawn(process.execPath, ["--import", "tsx", NODE], {
    env: { ...process.env, ROLE: role, PREFIX: prefix, N: String(n), LOCK_MS: "2000" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const p = { child, out: "" } as Proc;
  p.ready = new Promise((resolve) => {
    child.stdout!.on("data", (b: Buffer) => {
      p.out += b.toString();
      if (p.out.includes("ready")) resolve();
    });
  });
  p.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  return p;
}

const report = (p: Proc) =>
  JSON.parse(p.out.trim().split("\n").at(-1)!) as Record<string, number> & { runId: string };

it("three processes, one SIGKILLed mid-run: every item has one outcome, duplicates stay within what it held", async () => {
  const prefix = freshPrefix("mp");
  const servers = [start("serve", prefix), start("serve", prefix)];
  await Promise.all(servers.map((s) => s.ready));
  const feeder = start("feed", prefix);
  // Kill one server once a fifth of the items are through, noting what it held just before.
  const victim = servers[0]!;
  let heldAtKill = 0;
  for (;;) {
    const done = await redis.hlen(`${prefix}:test:calls:consumer`);
    heldAtKill = Math.max(
      heldAtKill,
      Number((await redis.get(`${prefix}:test:held:${victim.child.pid}`)) ?? 0),
    );
    if (done >= N / 5) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  victim.child.kill("SIGKILL");
  expect(await feeder.exited).toBe(0);
  const fed = report(feeder);
  servers[1]!.child.kill("SIGTERM");
  expect(await servers[1]!.exited).toBe(0);
  const survivor = report(servers[1]!);

  // The flow's accounting: each item id has exactly one outcome in the run's ledger.
  expect(await withCode(prefix, fed.runId, N, OUTCOME_CODE.consumed)).toBe(N);
  expect(fed).toMatchObject({ itemsIn: N, consumed: N, failed: 0, dropped: 0 });
  // Each item was consumed at least once; calls beyond one per item come from the killed server.
  let duplicates = 0;
  for (const stage of ["fetch", "store", "consumer"]) {
    const calls = await redis.hgetall(`${prefix}:test:calls:${stage}`);
    expect(Object.keys(calls)).toHaveLength(N);
    for (const n of Object.values(calls)) duplicates += Number(n) - 1;
  }
  expect(heldAtKill).toBeGreaterThan(0);
  expect(duplicates, `duplicate calls ${duplicates}, held at the kill ${heldAtKill}`).toBeLessThanOrEqual(
    heldAtKill,
  );
  // Every setup that survived has its close.
  expect(fed.setups).toBeGreaterThan(0);
  expect(fed.closes).toBe(fed.setups);
  expect(survivor.setups).toBeGreaterThan(0);
  expect(survivor.closes).toBe(survivor.setups);
  // The run's keys expire.
  expect(await redis.ttl(`${prefix}:mp:run:${fed.runId}:out`)).toBeGreaterThan(0);
}, 240_000);

/** Item ids 1..n with outcome code `code` in a run's ledger. */
async function withCode(prefix: string, runId: string, n: number, code: number): Promise<number> {
  const buf = (await redis.getBuffer(`${prefix}:mp:run:${runId}:out`)) ?? Buffer.alloc(0);
  let count = 0;
  for (let id = 1; id <= n; id++) if (outcomeAt(buf, id) === code) count++;
  return count;
}

/** A serving process, ready, then a feeder of `n` items. */
async function serverThenFeeder(prefix: string, n: number): Promise<{ server: Proc; feeder: Proc }> {
  const server = start("serve", prefix, n);
  await server.ready;
  return { server, feeder: start("feed", prefix, n) };
}

const until = async (what: () => Promise<boolean>) => {
  while (!(await what())) await new Promise((r) => setTimeout(r, 10));
};

it("SIGTERM to a server mid-run: it finishes what it holds and leaves; the others go on, nothing runs twice", async () => {
  const prefix = freshPrefix("term");
  const n = 5_000;
  const { server, feeder } = await serverThenFeeder(prefix, n);
  await until(async () => Number((await redis.get(`${prefix}:test:held:${server.child.pid}`)) ?? 0) > 0);
  await until(async () => (await redis.hlen(`${prefix}:test:calls:consumer`)) >= n / 4);
  server.child.kill("SIGTERM");
  expect(await server.exited).toBe(0);
  const left = report(server);
  expect(left.setups).toBeGreaterThan(0);
  expect(left.closes).toBe(left.setups);
  expect(await feeder.exited).toBe(0);
  const fed = report(feeder);
  expect(fed).toMatchObject({ itemsIn: n, consumed: n, failed: 0, dropped: 0 });
  expect(await withCode(prefix, fed.runId, n, OUTCOME_CODE.consumed)).toBe(n);
  for (const stage of ["fetch", "store", "consumer"]) {
    const calls = Object.values(await redis.hgetall(`${prefix}:test:calls:${stage}`));
    expect(calls).toHaveLength(n);
    expect(calls.every((c) => c === "1")).toBe(true);
  }
}, 120_000);

it("the feeder dies: the servers take what is in Redis to its outcome, and the run's keys expire", async () => {
  const prefix = freshPrefix("dead");
  const n = 20_000;
  const { server, feeder } = await serverThenFeeder(prefix, n);
  await until(async () => (await redis.hlen(`${prefix}:test:calls:consumer`)) >= 1_000);
  feeder.child.kill("SIGKILL");
  await feeder.exited;
  const [stateKey] = await redis.keys(`${prefix}:mp:run:*:state`);
  const runId = stateKey!.split(":")[3]!;
  // What reached Redis drains: both remote queues empty, every item the server held settled.
  const backlog = async () => {
    let jobs = 0;
    for (const stage of ["fetch", "store"])
      for (const list of ["wait", "active", "prioritized"]) {
        const key = `${prefix}:mp.${stage}:${list}`;
        jobs += list === "prioritized" ? await redis.zcard(key) : await redis.llen(key);
      }
    return jobs;
  };
  await until(
    async () =>
      (await backlog()) === 0 &&
      Number((await redis.get(`${prefix}:test:held:${server.child.pid}`)) ?? 1) === 0,
  );
  // Each item that reached its outcome has it once, and was consumed once per outcome.
  const consumed = await withCode(prefix, runId, n, OUTCOME_CODE.consumed);
  expect(consumed).toBeGreaterThanOrEqual(1_000);
  expect(consumed).toBe(await redis.hlen(`${prefix}:test:calls:consumer`));
  expect(Number(await redis.hget(`${prefix}:mp:run:${runId}:n`, "consumed"))).toBe(consumed);
  expect(await redis.ttl(`${prefix}:mp:run:${runId}:out`)).toBeGreaterThan(0);
  expect(await redis.ttl(stateKey!)).toBeGreaterThan(0);
  server.child.kill("SIGTERM");
  expect(await server.exited).toBe(0);
  const left = report(server);
  expect(left.closes).toBe(left.setups);
}, 120_000);
