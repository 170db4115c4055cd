/**
 * Prometheus metrics of a running flow: `registerFlowMetrics(flow, { registry })` and a
 * `/metrics` endpoint on node:http. Nothing is counted per item: each scrape reads the flow's
 * stats once. The example serves on an ephemeral port of 127.0.0.1, scrapes itself while the
 * flow runs, prints a few lines, checks the final scrape against `flow.stats()` and exits.
 * With `FLOWRHYTHM_METRICS_SERVE=1` it keeps a flow running and serving until SIGTERM or SIGINT
 * (`curl` the printed address). Run: `npx tsx examples/prometheus.ts`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { AdaptiveScaling, Flow, Skip } from "../src/index.js";
import { registerFlowMetrics } from "../src/prometheus.js";

const serve = process.env.FLOWRHYTHM_METRICS_SERVE === "1";
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const registry = new Registry();
const flow = new Flow({ name: "orders" })
  .addTransformer(
    async (n: number) => {
      await sleep(2 + (n % 5)); // a slow call: the stage scales out for it
      return n;
    },
    { name: "fetch", scalingStrategy: new AdaptiveScaling({ maxWorkers: 8 }), queueSize: 64 },
  )
  .addTransformer((n: number) => (n % 10 === 0 ? Skip : n), { name: "filter" })
  .setConsumer(async () => sleep(1), { name: "store" });
const unregister = registerFlowMetrics(flow, { registry });

const server = createServer((req, res) => {
  if (req.url !== "/metrics") {
    res.writeHead(404).end();
    return;
  }
  registry.metrics().then(
    (text) => res.writeHead(200, { "Content-Type": registry.contentType }).end(text),
    (error: unknown) => res.writeHead(500).end(String(error)),
  );
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;

if (serve) {
  // Items until a signal: the flow drains, the server closes, the process ends on its own.
  const endless = async function* () {
    for (let n = 0; ; n++) yield n;
  };
  const running = flow.run(endless);
  console.log(`serving ${url}`);
  const shutDown = () => void flow.drain({ timeoutMs: 1000 });
  process.once("SIGTERM", shutDown);
  process.once("SIGINT", shutDown);
  await running;
  server.close();
  unregister();
} else {
  const items = Array.from({ length: 800 }, (_, n) => n);
  const running = flow.run(items);
  await sleep(250);
  const during = await (await fetch(url)).text();
  console.log(`scraped ${url} while the flow ran; a few of its lines:`);
  for (const line of during.split("\n"))
    if (
      /^flowrhythm_(stage_workers\{.*state="busy"|flow_items_total\{.*outcome="consumed"|flow_active_items)/.test(
        line,
      )
    )
      console.log(`  ${line}`);
  await running;
  const after = await (await fetch(url)).text();
  server.close();
  unregister();

  const consumed = /^flowrhythm_flow_items_total\{flow="orders",outcome="consumed"\} (\d+)$/m.exec(
    after,
  )?.[1];
  const s = flow.stats();
  if (Number(consumed) !== s.consumed || s.consumed + s.skipped !== items.length)
    throw new Error(
      `the scrape says ${consumed} consumed, the flow ${s.consumed} (and ${s.skipped} skipped)`,
    );
  console.log(
    `ok: /metrics served ${after.split("\n").length} lines; ${consumed} consumed, ${s.skipped} skipped`,
  );
}
