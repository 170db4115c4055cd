/**
 * A crawler: each page turns into the links on it with `flatMap` (pulled one at a time, so a page
 * with thousands of links holds one in hand, never a list), links already seen end on purpose
 * with `Skip`, and new ones go back to the frontier. The source learns when a page is done — its
 * links all settled, fetched on or skipped — through `acked(...)`, and ends when nothing is left.
 * Every item has an id (`ctx.id`) and a link knows the page it came from (`ctx.parentId`).
 * Run: `npx tsx examples/crawler.ts`.
 */
import { AdaptiveScaling, acked, Flow, flatMap, Skip } from "../src/index.js";

/** A small web: page n links to 2n, 2n + 1 and back to n / 2, so most links are seen twice. */
const PAGES = 500;
const linksOf = (n: number): number[] =>
  [2 * n, 2 * n + 1, Math.floor(n / 2)].filter((k) => k >= 1 && k <= PAGES);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Link {
  readonly url: number;
  readonly depth: number;
}

const frontier: Link[] = [{ url: 1, depth: 0 }];
const seen = new Set<number>([1]);
/** Pages handed to the flow whose links have not all settled yet. */
let open = 0;
let wake: (() => void) | null = null;
const nudge = () => {
  wake?.();
  wake = null;
};
const settled = () => {
  open--;
  nudge();
};

// The frontier as a source: a page at a time, until the frontier is empty and no page is open.
async function* frontierPages() {
  for (;;) {
    const page = frontier.shift();
    if (page) {
      open++;
      yield acked(page, { ack: settled, nack: settled });
    } else if (open === 0) return;
    else await new Promise<void>((resolve) => (wake = resolve));
  }
}

let fetched = 0;
const via = new Map<number, number>(); // link id → the id of the page it was found on
const crawl = new Flow({ defaultScalingStrategy: new AdaptiveScaling({ maxWorkers: 16 }) })
  .setProducer(frontierPages)
  .addTransformer(
    flatMap(async function* (page: Link) {
      await sleep(2); // the page's fetch
      fetched++;
      for (const url of linksOf(page.url)) yield { url, depth: page.depth + 1 };
    }),
    { name: "links" },
  )
  .addTransformer(
    (link: Link, ctx) => {
      if (seen.has(link.url)) return Skip; // already queued or fetched: ends here, on purpose
      seen.add(link.url);
      if (ctx.parentId !== undefined) via.set(ctx.id, ctx.parentId);
      return link;
    },
    { name: "dedupe" },
  )
  .setConsumer(
    (link: Link) => {
      frontier.push(link);
      nudge();
    },
    { name: "frontier" },
  );

await crawl.run();
const s = crawl.stats();
console.log(
  `pages fetched ${fetched}, links found ${s.children}, new ${s.consumed}, already seen (skipped) ${s.skipped}`,
);
if (fetched !== PAGES || seen.size !== PAGES) throw new Error(`crawled ${fetched} of ${PAGES} pages`);
if (s.itemsIn + s.children !== s.consumed + s.skipped + s.expanded + s.failed + s.dropped)
  throw new Error("an item went missing");
if (via.size !== PAGES - 1) throw new Error("a link without its parent page");
console.log(
  `ok: ${fetched} pages crawled, ${s.skipped} duplicate links skipped, every link traced to its page`,
);
