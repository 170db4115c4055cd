/**
 * Push mode: feed a flow by hand, for events that arrive from elsewhere (a socket, a webhook).
 * `send` waits while the first queue is full, so a fast sender is held back; leaving the
 * `await using` block completes the input and waits for every item. Run: `npx tsx examples/push.ts`.
 */
import { Flow } from "../src/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const handled: number[] = [];
const f = new Flow().setConsumer(
  async (event: { n: number }) => {
    await sleep(3);
    handled.push(event.n);
  },
  { queueSize: 4 },
);

const started = performance.now();
{
  await using input = f.push();
  for (let n = 0; n < 40; n++) await input.send({ n }); // waits whenever 4 events are queued
}
console.log(
  `sent and handled 40 events in ${Math.round(performance.now() - started)} ms; state ${f.stats().state}`,
);
if (handled.length !== 40) throw new Error("events went missing");
console.log("ok: push handled 40 events");
