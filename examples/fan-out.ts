/**
 * Fan-out and merge: every order is priced and stock-checked at once, by two branches running
 * at different speeds on several workers; `merge` gets both results for the same order, in
 * branch order. An order whose stock check fails is one TransformerError of the fan-out stage.
 * Run: `npx tsx examples/fan-out.ts`.
 */
import { FixedScaling, Flow, fanOut } from "../src/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
interface Order {
  id: number;
  sku: string;
}
const orders: Order[] = Array.from({ length: 40 }, (_, id) => ({ id, sku: `sku-${id % 7}` }));

async function price(o: Order) {
  await sleep(5 + ((o.id * 13) % 20)); // slow, uneven
  return { id: o.id, cents: 100 + o.id };
}
async function stock(o: Order) {
  await sleep(1 + (o.id % 3));
  if (o.id === 13) throw new Error("warehouse timeout");
  return { id: o.id, units: o.id % 5 };
}

const quotes: string[] = [];
let failures = 0;
const f = new Flow()
  .setProducer(orders)
  .addTransformer(
    fanOut(
      [price, stock],
      ([p, s]) => {
        if (p.id !== s.id) throw new Error("misaligned results"); // never happens
        return `order ${p.id}: ${p.cents} cents, ${s.units} in stock`;
      },
      { name: "quote" },
    ),
  )
  .configure("quote.price", { scalingStrategy: new FixedScaling({ workers: 8 }) })
  .configure("quote.stock", { scalingStrategy: new FixedScaling({ workers: 2 }) })
  .setConsumer((q) => void quotes.push(q))
  .setErrorHandler((e) => {
    if (e.type === "TransformerError") {
      failures++;
      console.log(`failed in stage "${e.stage}": order ${(e.item as Order).id}: ${String(e.error)}`);
    }
  });

await f.run();
console.log(quotes.slice(0, 3).join("\n"), "\n...");
if (quotes.length + failures !== orders.length) throw new Error("an order went missing");
console.log(`ok: fan-out merged ${quotes.length} orders, ${failures} failed once each`);
