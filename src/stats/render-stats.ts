import { fmtNum } from "../internal/format.js";
import { cleanText, fitText, padText, textWidth } from "../internal/terminal-text.js";
import type { FlowStats, StageStats } from "./stage-stats.js";

/** The width the text dump keeps within: a default terminal's, so a live table never wraps. */
export const STATS_COLUMNS = 80;

const GAP = "  ";

/**
 * One table of the dump: a title (in the name column's header) and its columns. Eighteen numbers
 * a stage do not fit 80 columns in one row with headers in words, so they come as three tables
 * that share the name column: what the workers do now, what the items did, and how long they took.
 */
interface Section {
  readonly title: string;
  readonly columns: readonly string[];
  readonly cells: (s: StageStats) => readonly string[];
}

const capacity = (n: number) => (n === Number.POSITIVE_INFINITY ? "∞" : String(n));

const SECTIONS: readonly Section[] = [
  {
    title: "workers",
    columns: ["busy", "idle", "blocked", "retrying", "rate-limited", "total", "queue"],
    cells: (s) => [
      String(s.busyWorkers),
      String(s.idleWorkers),
      String(s.blockedWorkers),
      String(s.retryingWorkers),
      String(s.rateLimitedWorkers),
      String(s.totalWorkers),
      `${s.queueLength}/${capacity(s.queueCapacity)}`,
    ],
  },
  {
    title: "items",
    columns: ["arrived/s", "done/s", "done", "failed", "retries", "overloads", "dropped"],
    cells: (s) => [
      fmtNum(s.arrivalRate, 0),
      fmtNum(s.throughput, 0),
      String(s.processed),
      String(s.errors),
      String(s.retries),
      String(s.overloads),
      String(s.dropped),
    ],
  },
  {
    title: "time (ms)",
    columns: ["processing p50", "processing p99", "queue wait p99"],
    cells: (s) => [fmtNum(s.latency.p50, 2), fmtNum(s.latency.p99, 2), fmtNum(s.queueWait.p99, 2)],
  },
];

/**
 * Renders stage stats as three aligned tables — workers, items, time — within `width` columns.
 * A stage name too long for the name column gets a line of its own above its numbers (cut with
 * `…` only past `width`), so no name is lost and no line wraps. Names are shown with control
 * characters and ANSI escapes neutralised.
 */
export function renderStatsTable(stages: readonly StageStats[], width = STATS_COLUMNS): string {
  const names = stages.map((s) => cleanText(s.stageName));
  const tables = SECTIONS.map((section) => {
    const rows = stages.map(section.cells);
    const widths = section.columns.map((head, c) => Math.max(head.length, ...rows.map((r) => r[c]!.length)));
    return { section, rows, widths, rest: widths.reduce((sum, w) => sum + GAP.length + w, 0) };
  });
  // The name column is as wide as the longest name that leaves room for every table's numbers;
  // a longer name goes on a line of its own rather than push the numbers of every row over.
  const titles = Math.max(...SECTIONS.map((s) => s.title.length));
  const room = width - Math.max(...tables.map((t) => t.rest));
  const fitting = names.map(textWidth).filter((w) => w <= room);
  const nameWidth = Math.max(titles, ...fitting);
  const line = (name: string, cells: readonly string[], widths: readonly number[]) =>
    padText(name, nameWidth) + cells.map((cell, c) => GAP + cell.padStart(widths[c]!)).join("");
  const out: string[] = [];
  for (const { section, rows, widths } of tables) {
    out.push(line(section.title, section.columns, widths));
    rows.forEach((cells, i) => {
      const name = names[i]!;
      if (textWidth(name) <= nameWidth) out.push(line(name, cells, widths));
      else out.push(fitText(name, width), line("", cells, widths));
    });
  }
  return out.join("\n");
}

/** `words` joined by spaces into lines of at most `width` columns (a word longer than that is a line of its own). */
function wrapWords(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of words) {
    if (current !== "" && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current === "" ? word : `${current} ${word}`;
  }
  if (current !== "") lines.push(current);
  return lines;
}

/** Renders flow stats as text (a header and the tables, within 80 columns) or JSON. */
export function renderStats(stats: FlowStats, format: "text" | "json"): string {
  if (format === "json")
    return JSON.stringify(stats, (_k, v) => (v === Number.POSITIVE_INFINITY ? "Infinity" : v), 2);
  const head = [
    `state=${stats.state}`,
    `in=${stats.itemsIn}`,
    `consumed=${stats.consumed}`,
    `failed=${stats.failed}`,
    `dropped=${stats.dropped}`,
    `skipped=${stats.skipped}`,
    ...(stats.expanded > 0 ? [`expanded=${stats.expanded}`, `children=${stats.children}`] : []),
    `inFlight=${stats.inFlight}`,
  ];
  return [...wrapWords(head, STATS_COLUMNS), renderStatsTable(stats.stages)].join("\n");
}
