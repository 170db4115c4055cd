/**
 * Batch stages: rows are written in bulk, up to 50 per call, and a partial batch is flushed once
 * its oldest row has waited 100 ms — so a trickle at the end is not held back. Two writers run
 * at once, each taking whole batches. Run: `npx tsx examples/batch.ts`.
 */
import { batch, FixedScaling, Flow } from "../src/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const batchSizes: number[] = [];

async function* rows() {
  for (let i = 0; i < 230; i++) {
    yield { id: i, name: `row ${i}` };
    if (i > 200) await sleep(15); // the tail trickles in
  }
}

const f = new Flow()
  .setProducer(rows)
  .addTransformer((r: { id: number; name: string }) => ({ ...r, name: r.name.toUpperCase() }))
  .setConsumer(
    batch(
      async (batchOfRows: { id: number }[]) => {
        batchSizes.push(batchOfRows.length);
        await sleep(20); // one round trip for the whole batch
      },
      { size: 50, flushMs: 100, name: "insertMany" },
    ),
    { scalingStrategy: new FixedScaling({ workers: 2 }) },
  );

await f.run();
const st = f.stageStats("insertMany")!;
console.log(`batch sizes: ${batchSizes.join(", ")}`);
console.log(
  `${st.processed} rows in ${st.batches} calls (mean ${(st.processed / st.batches).toFixed(1)} per call)`,
);
if (st.processed !== 230) throw new Error("rows went missing");
console.log(`ok: batch wrote ${st.processed} rows in ${st.batches} calls`);
