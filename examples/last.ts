/**
 * Last(value): stop as soon as the first match is found. The match becomes the final item the
 * consumer sees; everything still upstream — in the producer, in queues, in other workers — is
 * reported as Dropped with reason UPSTREAM_TERMINATED, none of it lost silently.
 * Run: `npx tsx examples/last.ts`.
 */
import { FixedScaling, Flow, Last } from "../src/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let read = 0;
function* pages() {
  for (let n = 1; n <= 1000; n++) {
    read++;
    yield n;
  }
}

const seen: string[] = [];
let cutOff = 0;
const f = new Flow()
  .setProducer(pages)
  .addTransformer(
    async (page: number) => {
      await sleep(2);
      return { page, text: page === 42 ? "the needle" : "hay" };
    },
    { name: "fetch", scalingStrategy: new FixedScaling({ workers: 4 }), queueSize: 16 },
  )
  .addTransformer(
    (p: { page: number; text: string }) => (p.text === "the needle" ? Last(`found on page ${p.page}`) : null),
    {
      name: "search",
    },
  )
  .setConsumer((r) => {
    if (r !== null) seen.push(r);
  })
  .setErrorHandler((e) => {
    if (e.type === "Dropped" && e.reason === "UPSTREAM_TERMINATED") cutOff++;
  });

await f.run();
const s = f.stats();
console.log(seen.at(-1));
console.log(`read ${read} of 1000 pages; consumed ${s.consumed}, cut off ${cutOff}`);
if (s.consumed + cutOff !== s.itemsIn) throw new Error("an item went missing");
console.log(`ok: Last ended the flow after ${s.itemsIn} pages`);
