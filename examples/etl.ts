/**
 * An ETL job that filters on purpose: rows that fail validation are skipped with `Skip` — counted
 * (`skipped`, per stage and per flow) and reported as `skip` events, never as errors — while rows
 * whose load throws are failures, as ever. Every row ends as exactly one of consumed, skipped or
 * failed. Run: `npx tsx examples/etl.ts`.
 */
import { AdaptiveScaling, Flow, Skip } from "../src/index.js";

interface Row {
  readonly id: number;
  readonly email: string;
  readonly amount: string;
}

function* csv(): Generator<Row> {
  for (let id = 1; id <= 2000; id++)
    yield {
      id,
      email: id % 7 === 0 ? "" : `user${id}@example.com`,
      amount: id % 11 === 0 ? "n/a" : `${id}.50`,
    };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const skippedBy = new Map<string, number>();
const loaded: number[] = [];
let failed = 0;

const f = new Flow({ defaultScalingStrategy: new AdaptiveScaling({ maxWorkers: 16 }) })
  .addTransformer((row: Row) => (row.email.includes("@") ? row : Skip), { name: "valid-email" })
  .addTransformer(
    (row: Row) => {
      const amount = Number(row.amount);
      return Number.isFinite(amount) ? { id: row.id, cents: Math.round(amount * 100) } : Skip;
    },
    { name: "parse-amount" },
  )
  .setConsumer(
    async (r: { id: number; cents: number }) => {
      await sleep(1); // the warehouse insert
      if (r.id === 1999) throw new Error("constraint violated");
      loaded.push(r.id);
    },
    { name: "load" },
  )
  .setErrorHandler((e) => {
    if (e.type === "TransformerError") failed++;
  });
f.on("skip", (e) => skippedBy.set(e.stage, (skippedBy.get(e.stage) ?? 0) + 1));

await f.run(csv());
const s = f.stats();
console.log(`rows ${s.itemsIn}: loaded ${s.consumed}, skipped ${s.skipped}, failed ${s.failed}`);
console.log("skipped by stage:", Object.fromEntries(skippedBy));
const noEmail = Math.floor(2000 / 7);
const badAmount = Math.floor(2000 / 11) - Math.floor(2000 / 77); // rows 77, 154, … were skipped for the email already
if (skippedBy.get("valid-email") !== noEmail || skippedBy.get("parse-amount") !== badAmount)
  throw new Error("unexpected skip counts");
if (s.consumed !== loaded.length || failed !== 1 || s.consumed + s.skipped + s.failed !== s.itemsIn)
  throw new Error("a row went missing");
if (f.stageStats("valid-email")?.skipped !== noEmail) throw new Error("stage count off");
console.log(`ok: ${s.skipped} rows skipped on purpose, ${s.failed} failed, none lost`);
