/**
 * Routers: send each log line to the arm its level names; the arms merge into one writer.
 * `error` lines go through a two-stage arm (a Flow), `info` through one function, and a level
 * with no arm (`debug`) is dropped with reason ROUTER_MISS. Run: `npx tsx examples/router.ts`.
 */
import { Flow, router } from "../src/index.js";

interface Line {
  level: string;
  text: string;
}
const lines: Line[] = Array.from({ length: 30 }, (_, i) => ({
  level: ["info", "error", "info", "debug", "warn"][i % 5]!,
  text: `event ${i}`,
}));

const alerting = new Flow<Line>()
  .addTransformer((l: Line) => ({ ...l, text: l.text.toUpperCase() }), { name: "shout" })
  .addTransformer(async (l: Line) => `ALERT ${l.text}`, { name: "page" });

const written: string[] = [];
const f = new Flow()
  .setProducer(lines)
  .addTransformer(
    router(
      (l: Line) => l.level,
      {
        error: alerting,
        warn: (l: Line) => `warn  ${l.text}`,
        info: (l: Line) => `info  ${l.text}`,
      },
      { name: "byLevel" },
    ),
  )
  .setConsumer((s) => void written.push(s))
  .setErrorHandler((e) => {
    if (e.type !== "Dropped") console.error(e);
  });

console.log(f.dump());
await f.run();
const s = f.stats();
console.log(`\nwritten ${written.length}, dropped ${s.dropped} (${JSON.stringify(s.droppedByReason)})`);
for (const st of s.stages) console.log(`  ${st.stageName.padEnd(24)} processed ${st.processed}`);
if (s.consumed + s.dropped !== s.itemsIn) throw new Error("an item went missing");
console.log(`ok: router sent ${s.consumed} lines to their arms and dropped ${s.dropped} with no arm`);
