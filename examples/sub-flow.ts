/**
 * Sub-flows: a reusable chain (normalize) composed into two different pipelines. Its stages are
 * inlined under dotted names (`clean.trim`, `clean.lower`), keep their own options, and the
 * parent may override one by name. The same chain gives the same output standalone and composed.
 * Run: `npx tsx examples/sub-flow.ts`.
 */
import { FixedScaling, Flow, flow } from "../src/index.js";

const normalize = () =>
  new Flow<string>()
    .addTransformer((s: string) => s.trim(), { name: "trim" })
    .addTransformer((s: string) => s.toLowerCase(), { name: "lower" });

const input = ["  Apple", "BANANA ", " Cherry "];

const standalone: string[] = [];
for await (const s of normalize().stream(input)) standalone.push(s);

const tagged = new Flow()
  .setProducer(input)
  .addTransformer(normalize(), { name: "clean" })
  .configure("clean.lower", { scalingStrategy: new FixedScaling({ workers: 1 }) })
  .addTransformer((s: string) => `#${s}`);
const out: string[] = [];
for await (const s of tagged.stream()) out.push(s);

const counted = flow(normalize(), (s: string) => s.length);
let total = 0;
for await (const n of counted.stream(input)) total += n;

console.log(tagged.dump());
console.log(standalone, out, total);
if (out.join() !== standalone.map((s) => `#${s}`).join()) throw new Error("composed output differs");
console.log("ok: sub-flow gives the same output standalone and composed");
