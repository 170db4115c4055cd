/**
 * A broker consumer: orders from a NATS JetStream durable consumer, each message acknowledged once
 * the flow knows how its order ended — `ack` when it was shipped or rejected (`Skip`), `nak` when
 * it failed, so that JetStream redelivers it. A process that dies with messages in hand tells
 * nothing: JetStream redelivers those after `ack_wait`. Keep the queues short: every item the
 * flow holds is a message not yet acknowledged.
 * Needs a NATS server with JetStream (`nats-server -js`) on 127.0.0.1:4222 or `NATS_URL`.
 * Run: `npx tsx examples/broker.ts`.
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { acked, FixedScaling, Flow, Skip, type SourceContext } from "../src/index.js";

interface Order {
  id: number;
  sku: string;
  qty: number;
  /** JetStream's delivery count: 1 the first time, 2 on the first redelivery. */
  delivery: number;
}

// A fresh stream of 200 orders, so that the example needs nothing but a server; 10 have no quantity.
const nc = await connect({ servers: process.env.NATS_URL ?? "127.0.0.1:4222" });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const stream = `ORDERS_${process.pid}_${Date.now()}`;
await jsm.streams.add({ name: stream, subjects: [`${stream}.new`] });
await jsm.consumers.add(stream, {
  durable_name: "ship",
  ack_policy: AckPolicy.Explicit,
  ack_wait: nanos(5_000),
});
for (let id = 0; id < 200; id++)
  await js.publish(
    `${stream}.new`,
    JSON.stringify({ id, sku: `sku-${id % 10}`, qty: id % 20 === 7 ? 0 : 1 }),
  );
const consumer = await js.consumers.get(stream, "ship");

// The source: each message, with what to tell JetStream once the flow has the order's outcome.
async function* orders({ signal }: SourceContext) {
  const messages = await consumer.consume({ max_messages: 32 });
  // drain(), stop(), SIGTERM: end the wait for the next message (else a drain waits for one forever).
  signal.addEventListener("abort", () => messages.stop(), { once: true });
  for await (const m of messages)
    yield acked(
      { ...m.json<Order>(), delivery: m.info.deliveryCount },
      { ack: () => m.ack(), nack: () => m.nak() },
    );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const shipped = new Map<number, number>(); // order id → the delivery it shipped on
let timeouts = 0;

async function reserve(order: Order) {
  if (order.qty < 1) return Skip; // invalid for good: acked, never redelivered
  await sleep(2);
  if (order.id % 25 === 3 && order.delivery === 1)
    throw new Error(`stock service timed out (order ${order.id})`);
  return order;
}

const flow = new Flow<Order>({ errorHandler: (e) => void (e.type === "TransformerError" && timeouts++) })
  .setProducer(orders)
  .addTransformer(reserve, { scalingStrategy: new FixedScaling({ workers: 4 }), queueSize: 16 })
  .setConsumer((o: Order) => void shipped.set(o.id, o.delivery), { queueSize: 16 });

// A backlog job: drain once JetStream has no message left to deliver nor waiting for an ack.
const started = performance.now();
const running = flow.run();
for (;;) {
  await sleep(50);
  const { num_pending, num_ack_pending } = await consumer.info();
  if (num_pending + num_ack_pending === 0) break;
  if (performance.now() - started > 30_000)
    throw new Error(`${num_pending + num_ack_pending} left after 30 s`);
}
await flow.drain();
await running;
await jsm.streams.delete(stream);
await nc.drain();

const s = flow.stats();
const redelivered = [...shipped].filter(([, delivery]) => delivery > 1).map(([id]) => id);
console.log(
  `${s.itemsIn} messages in ${Math.round(performance.now() - started)} ms: ${s.consumed} shipped, ` +
    `${s.skipped} rejected, ${s.failed} failed (${timeouts} timeouts) and redelivered: orders ${redelivered}`,
);
if (shipped.size !== 190 || s.consumed !== 190 || s.skipped !== 10 || s.failed !== 8 || s.dropped !== 0)
  throw new Error("an order went missing or was shipped twice");
if (s.itemsIn !== 208 || redelivered.length !== 8 || redelivered.some((id) => id % 25 !== 3))
  throw new Error("the failed orders were not redelivered once each");
console.log(
  "ok: 200 orders, 190 shipped, 10 rejected, 8 failed once and shipped on redelivery; none pending",
);
