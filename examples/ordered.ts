/**
 * ordered: true — eight workers download pages that take uneven time, yet the consumer gets them
 * in input order. A reorder buffer (at most `queueSize` pages) holds early finishers; when it is
 * full the stage waits for the slow one, so memory stays bounded. Run: `npx tsx examples/ordered.ts`.
 */
import { FixedScaling, Flow } from "../src/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const got: number[] = [];
const f = new Flow()
  .setProducer(Array.from({ length: 60 }, (_, i) => i))
  .addTransformer(
    async (page: number) => {
      await sleep(page % 10 === 0 ? 40 : 2 + ((page * 7) % 9));
      return page;
    },
    { name: "download", scalingStrategy: new FixedScaling({ workers: 8 }), ordered: true, queueSize: 16 },
  )
  .setConsumer((page) => void got.push(page));

await f.run();
console.log(got.join(" "));
if (got.some((p, i) => p !== i)) throw new Error("out of order");
console.log("ok: ordered kept 60 pages in input order across 8 workers");
