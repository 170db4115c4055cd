import { FixedScaling, Flow } from "./src/index.js";
let calls = 0;
const f = new Flow({ name: "gated" })
  .addTransformer(
    async (x: number, ctx) => {
      calls++;
      console.log("call", x, "aborted already?", ctx.signal.aborted);
      await new Promise<void>((resolve) => {
        ctx.signal.addEventListener("abort", () => resolve());
      });
      return x;
    },
    { name: "work", scalingStrategy: new FixedScaling({ workers: 2 }) },
  )
  .setConsumer(() => {});
const t = performance.now();
const done = f.run(Array.from({ length: 20 }, (_, i) => i));
await f.stop();
console.log("stop after", (performance.now() - t).toFixed(0), "ms; calls", calls);
await done;
