import { fmtNum } from "../internal/format.js";
import { cleanText, fitText, padText, textWidth } from "../internal/terminal-text.js";
import type { FlowStats, StageStats } from "../stats/stage-stats.js";

/** The fields of a snapshot the reporter shows, read once. */
interface Overall {
  readonly name: string;
  readonly state: string;
  /** Items that reached an outcome, a `flatMap`'s children and their parents each counted. */
  readonly done: number;
  readonly total: number | null;
  readonly etaMs: number | null;
  readonly elapsedMs: number;
  /** Mean items/s since the start (the pace the ETA assumes); `null` before any time passed. */
  readonly rate: number | null;
  readonly failed: number;
  readonly dropped: number;
  readonly skipped: number;
}

function overall(stats: FlowStats): Overall {
  // `name`, `total` and `etaMs` are read as optional: a snapshot built by hand (a test, an older
  // flow) may lack them, and the reporter shows what there is rather than throwing.
  const s = stats as Partial<Pick<FlowStats, "name" | "total" | "etaMs">> & FlowStats;
  const elapsedMs = stats.startedAt === null ? 0 : Math.max(0, stats.now - stats.startedAt);
  // Every item with an outcome, over the source's total and the children made so far: the
  // fraction the ETA is computed from, so a flatMap flow's bar moves as its children finish.
  const done = stats.consumed + stats.failed + stats.dropped + stats.skipped + stats.expanded;
  return {
    name: cleanText(s.name ?? "flow"),
    state: stats.state,
    done,
    total: s.total == null ? null : s.total + stats.children,
    etaMs: s.etaMs ?? null,
    elapsedMs,
    rate: elapsedMs > 0 ? (done * 1000) / elapsedMs : null,
    failed: stats.failed,
    dropped: stats.dropped,
    skipped: stats.skipped,
  };
}

/** A duration for people: `0.4s`, `12.3s`, `4m05s`, `2h07m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A rate for a table: whole above 100/s, one decimal below. */
const formatRate = (perSecond: number): string =>
  fmtNum(perSecond >= 100 ? Math.round(perSecond) : Math.round(perSecond * 10) / 10, 1);

const percentOf = (o: Overall): number | null =>
  o.total === null ? null : o.total === 0 ? 100 : Math.min(100, Math.floor((o.done * 100) / o.total));

/** `450/1000  45%  ETA 5.2s` when the total is known, else `450 done`; then the rate. */
function countsText(o: Overall, final: boolean): string {
  const rate = o.rate === null ? "" : `  ${formatRate(o.rate)}/s`;
  if (o.total === null) return `${o.done} done${rate}`;
  const eta = final ? "" : `  ETA ${o.etaMs === null ? "?" : formatDuration(o.etaMs)}`;
  return `${o.done}/${o.total}  ${percentOf(o)}%${eta}${rate}`;
}

/** `failed 3  dropped 1`: the outcomes that are not plain success, when there are any. */
function outcomesText(o: Overall): string {
  const parts: string[] = [];
  if (o.failed > 0) parts.push(`failed ${o.failed}`);
  if (o.dropped > 0) parts.push(`dropped ${o.dropped}`);
  if (o.skipped > 0) parts.push(`skipped ${o.skipped}`);
  return parts.join("  ");
}

/** `[######------]`, `width` columns in all. */
function bar(percent: number, width: number): string {
  const inner = width - 2;
  const filled = Math.round((percent / 100) * inner);
  return `[${"#".repeat(filled)}${"-".repeat(inner - filled)}]`;
}

const STAGE_COLUMNS = ["busy/workers", "peak", "queue", "items/s"] as const;

function stageCells(s: StageStats): string[] {
  // `peakWorkers` is read as optional for the same reason as the flow's new fields.
  const peak = (s as Partial<Pick<StageStats, "peakWorkers">>).peakWorkers;
  const capacity = s.queueCapacity === Number.POSITIVE_INFINITY ? "∞" : String(s.queueCapacity);
  return [
    `${s.busyWorkers}/${s.totalWorkers}`,
    peak === undefined ? "?" : String(peak),
    `${s.queueLength}/${capacity}`,
    formatRate(s.throughput),
  ];
}

/** What a frame may take: `columns` wide, and `rows` high when the terminal's height is known. */
export interface FrameSize {
  readonly columns: number;
  readonly rows?: number | undefined;
}

/**
 * The lines of a terminal frame: a header (name, state, elapsed), the overall progress (a bar,
 * percent and ETA when the total is known), the outcomes that are not success, and a table of
 * the stages. No line is wider than `columns`; with `rows`, the frame has fewer lines than the
 * terminal (a frame taller than the screen cannot be redrawn in place), and the stages cut off
 * are counted on the last line.
 */
export function progressFrame(stats: FlowStats, size: FrameSize, final = false): string[] {
  const width = size.columns;
  const o = overall(stats);
  const lines = [`${o.name}  ${o.state}  elapsed ${formatDuration(o.elapsedMs)}`];
  const counts = countsText(o, final);
  const percent = percentOf(o);
  const barWidth = Math.min(32, width - textWidth(counts) - 2);
  lines.push(percent !== null && barWidth >= 10 ? `${bar(percent, barWidth)}  ${counts}` : counts);
  const outcomes = outcomesText(o);
  if (outcomes) lines.push(outcomes);

  const names = stats.stages.map((s) => cleanText(s.stageName));
  const rows = stats.stages.map(stageCells);
  const widths = STAGE_COLUMNS.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const rest = widths.reduce((sum, w) => sum + 2 + w, 0);
  const nameWidth = Math.max(5, Math.min(Math.max(0, ...names.map(textWidth)), width - rest));
  const row = (name: string, cells: readonly string[]) =>
    padText(name, nameWidth) + cells.map((cell, c) => `  ${cell.padStart(widths[c]!)}`).join("");
  if (stats.stages.length > 0) lines.push(row("stage", STAGE_COLUMNS));
  // Every line but the last is followed by a newline, so a frame of `rows` lines would scroll.
  const room = size.rows === undefined ? Number.POSITIVE_INFINITY : Math.max(1, size.rows - 1 - lines.length);
  const shown = names.length <= room ? names.length : Math.max(0, room - 1);
  for (let i = 0; i < shown; i++) lines.push(row(names[i]!, rows[i]!));
  if (shown < names.length) lines.push(`… ${names.length - shown} more stages`);
  const height = size.rows === undefined ? lines.length : Math.max(1, size.rows - 1);
  return lines.slice(0, height).map((line) => fitText(line, width));
}

/** How hard a stage is pressed: how full its queue is, then how busy its workers are. */
const pressure = (s: StageStats): number =>
  (s.queueCapacity === Number.POSITIVE_INFINITY
    ? Math.min(1, s.queueLength)
    : s.queueLength / s.queueCapacity) *
    2 +
  (s.totalWorkers > 0 ? s.busyWorkers / s.totalWorkers : 0);

/**
 * One plain line (no escape codes) for a log: name, state (unless running), elapsed, progress, then each stage as
 * `name busy/workers q<queue> rate/s`. When not every stage fits in `columns`, the most pressed
 * ones (fullest queue, then busiest workers: where a bottleneck shows) are kept, in chain order,
 * and the rest counted.
 */
export function progressLine(stats: FlowStats, columns: number, final = false): string {
  const o = overall(stats);
  const outcomes = outcomesText(o);
  // "running" goes without saying; the other states are news.
  const state = o.state === "running" ? "" : ` ${o.state}`;
  const head = `[${o.name}]${state} ${formatDuration(o.elapsedMs)} ${countsText(o, final)}${outcomes ? `  ${outcomes}` : ""}`;
  const line = head.replace(/ {2}/g, " ");
  const parts = stats.stages.map((s) => {
    const [workers, , , rate] = stageCells(s);
    return ` | ${fitText(cleanText(s.stageName), 16)} ${workers} q${s.queueLength} ${rate}/s`;
  });
  const byPressure = stats.stages.map((s, i) => ({ i, p: pressure(s) })).sort((a, b) => b.p - a.p);
  const kept = new Set<number>();
  let used = textWidth(line);
  for (const { i } of byPressure) {
    const left = parts.length - kept.size - 1;
    // Keep room to say how many stages did not fit.
    const reserve = left > 0 ? ` | +${left} more`.length : 0;
    const w = textWidth(parts[i]!);
    if (used + w + reserve > columns) continue;
    kept.add(i);
    used += w;
  }
  const shown = parts.filter((_, i) => kept.has(i)).join("");
  const more = parts.length - kept.size;
  return fitText(`${line}${shown}${more > 0 ? ` | +${more} more` : ""}`, columns);
}
