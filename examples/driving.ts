/**
 * Driving a flow without a finite list: `stream()` yields outputs as an AsyncIterable (leaving the
 * loop early stops the flow and closes every worker), and `run()` with no source calls the first
 * stage with `undefined` until drained — a poller. Run: `npx tsx examples/driving.ts`.
 */
import { Flow, perWorker } from "../src/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// 1. stream() over an endless source, stopping after five results.
let closed = 0;
const squares = new Flow().addTransformer(
  perWorker(() => ({ process: (n: number) => n * n, close: () => void closed++ })),
);
const first: number[] = [];
for await (const sq of squares.stream(function* () {
  for (let n = 0; ; n++) yield n;
})) {
  first.push(sq);
  if (first.length === 5) break;
}
console.log(`stream: ${first.join(", ")}; state ${squares.stats().state}; resources closed ${closed}`);

// 2. run() with no source: poll a job table until drained.
const jobs = ["a", "b", "c"];
const done: string[] = [];
const poller = new Flow()
  .addTransformer(
    async () => {
      await sleep(5);
      return jobs.shift() ?? null;
    },
    { name: "poll", queueSize: 1 },
  ) // a poller polls on demand: no backlog of undefined
  .setConsumer((job) => {
    if (job !== null) done.push(job);
  });
const running = poller.run();
await sleep(60);
await poller.drain();
await running;
console.log(`poller handled ${done.join(", ")} in ${poller.stats().itemsIn} polls`);
if (closed !== 1 || done.length !== 3) throw new Error("unexpected result");
console.log("ok: stream stopped early and the poller drained");
