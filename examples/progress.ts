/**
 * Progress on a terminal in one line: `reportProgress(flow)`. The source is an array, so the
 * flow knows its total and the reporter shows a bar, the percent and an ETA; each stage shows its
 * busy/total workers, its peak, its queue and its items/s. On a terminal the frame is redrawn in
 * place (on stderr); piped or in CI it prints a plain line each interval instead, and a last one
 * when the flow drains. Run: `npx tsx examples/progress.ts` (and `… 2>&1 | cat` for the lines).
 */
import { AdaptiveScaling, Flow, reportProgress } from "../src/index.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pages = Array.from({ length: 1500 }, (_, i) => `https://example.com/page/${i}`);

const f = new Flow({ name: "crawl" })
  .addTransformer(
    async (url: string) => {
      await sleep(15 + (url.length % 7) * 5); // a slow call: the stage scales out for it
      return { url, words: url.length * 10 };
    },
    { name: "fetch", scalingStrategy: new AdaptiveScaling({ maxWorkers: 16 }), queueSize: 32 },
  )
  .addTransformer((page: { url: string; words: number }) => page.words, { name: "count" })
  .setConsumer(() => {});

// Not a terminal (CI, a pipe): a line every 500 ms, so this short run shows a few.
reportProgress(f, process.stderr.isTTY ? {} : { intervalMs: 500 });
await f.run(pages);

const s = f.stats();
if (s.consumed !== pages.length) throw new Error(`consumed ${s.consumed} of ${pages.length}`);
console.log(`ok: ${s.consumed} pages with a progress reporter on stderr`);
