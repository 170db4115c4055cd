// The workload `bench/instructions/run.mjs` counts under callgrind: 3 stages × 4 workers over N
// items, twice, on a VirtualClock that is never advanced (no tick, no timer: only the items run).
// Plain JavaScript against dist/, so that nothing but node runs under valgrind.
// `lean` runs the hand-written pipeline of bench/lean-pipeline.mjs instead: the architecture's floor.
import { AdaptiveScaling, FixedScaling, Flow, VirtualClock } from "../../dist/index.js";
import { leanPipeline } from "../lean-pipeline.mjs";

const [kind, n] = process.argv.slice(2);
const items = Array.from({ length: Number(n) }, (_, i) => i);
let sink = 0;
const a = async (x) => x + 1;
const b = async (x) => x * 2;
const c = async (x) => {
  sink += x;
};
const clock = new VirtualClock();
const strategy = () =>
  kind === "adaptive"
    ? new AdaptiveScaling({ minWorkers: 4, maxWorkers: 4, initialWorkers: 4 })
    : new FixedScaling({ workers: 4 });
for (let round = 0; round < 2; round++) {
  if (kind === "lean") {
    await leanPipeline(items, [a, b, c], 4, 1024);
    continue;
  }
  await new Flow({ clock })
    .setProducer(items)
    .addTransformer(a, { scalingStrategy: strategy() })
    .addTransformer(b, { scalingStrategy: strategy() })
    .setConsumer(c, { scalingStrategy: strategy() })
    .run();
}
if (sink !== 2 * items.reduce((s, x) => s + (x + 1) * 2, 0)) throw new Error(`wrong sum ${sink}`);
