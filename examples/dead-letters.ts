/**
 * Retries, timeouts and dead letters: a flaky lookup is retried with jittered backoff and a
 * per-attempt timeout; items that still fail are written to a JSON-lines file by the
 * `deadLetter` sink. Once the cause is fixed, the file is replayed into the same flow.
 * Run: `npx tsx examples/dead-letters.ts`.
 */
import { appendFile, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DeadLetter, Flow } from "../src/index.js";

interface Order {
  id: number;
  sku: string;
}

const file = join(tmpdir(), `flowrhythm-dead-letters-${process.pid}.jsonl`);
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });

let discontinued = new Set(["sku-3", "sku-7"]); // the "bug": these SKUs are missing from the catalogue
let calls = 0;

/** A catalogue lookup that fails now and then, hangs now and then, and fails for good on some SKUs. */
async function price(order: Order, ctx: { signal: AbortSignal; attempt: number }) {
  calls++;
  if (discontinued.has(order.sku)) throw new Error(`unknown sku ${order.sku}`);
  if (order.id % 5 === 0 && ctx.attempt === 1) throw new Error("503 from the catalogue"); // transient
  await sleep(order.id % 7 === 0 && ctx.attempt === 1 ? 1_000 : 2, ctx.signal); // hangs once
  return { ...order, cents: 100 * (order.id % 10) + 99 };
}

const priced: number[] = [];
const flow = new Flow<Order>({
  // One line per item that failed for good: enough to replay it and to see why.
  deadLetter: (d: DeadLetter<Order>) =>
    appendFile(
      file,
      `${JSON.stringify({ runId: d.runId, id: d.id, item: d.item, stage: d.stage, attempts: d.attempts, error: String(d.error) })}\n`,
    ),
  errorHandler: () => {}, // the dead-letter file is the record here
})
  .addTransformer(price, {
    name: "price",
    timeoutMs: 100,
    retry: {
      attempts: 3,
      backoff: { baseMs: 10, maxMs: 200 },
      retryOn: (error) => !String(error).includes("unknown sku"), // permanent: do not retry
    },
  })
  .setConsumer((o: { id: number }) => void priced.push(o.id));

const orders = Array.from({ length: 40 }, (_, id) => ({ id, sku: `sku-${id % 10}` }));
await rm(file, { force: true });
await flow.run(orders);
const letters = (await readFile(file, "utf8"))
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l));
console.log(`first run: ${priced.length} priced, ${letters.length} dead letters in ${file}`);
console.log(`  e.g. ${JSON.stringify(letters[0])}`);

// The catalogue is fixed; replay the dead letters into the same flow.
discontinued = new Set();
const replay = letters.map((l) => l.item as Order);
await rm(file, { force: true });
await flow.run(replay);
console.log(`replay: ${replay.length} items, ${priced.length} priced in all, ${calls} calls`);
await rm(file, { force: true });

if (letters.length !== 8 || priced.length !== 40 || new Set(priced).size !== 40)
  throw new Error("an order went missing");
// Each letter names its item: orders enter in order, so order n is the run's item n + 1.
if (!letters.every((l) => l.id === l.item.id + 1 && l.runId === letters[0].runId))
  throw new Error("a dead letter without its item's id");
console.log("ok: every order priced, the failed ones through the dead-letter file");
