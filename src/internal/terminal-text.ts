/**
 * Text for a terminal: names come from users, so a stage called "a\nb" or "\x1b[2J" must not
 * break a table or clear a screen, and a name in CJK or emoji must be measured in the columns it
 * takes, not in UTF-16 units.
 */

// ANSI sequences: CSI (`ESC [ … final`), OSC (`ESC ] … BEL` or `ESC ] … ESC \`), then any other
// two-byte escape. Removed whole, so no half of one is left to draw garbage.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]/g;
// C0 and C1 controls and DEL (a newline or carriage return would move the cursor), bidi
// overrides and isolates (they reorder what follows on the line), and the Unicode line and
// paragraph separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** `text` with ANSI escape sequences removed and every other control character shown as `?`. */
export function cleanText(text: string): string {
  return text.replace(ANSI, "").replace(CONTROL, "?");
}

const ZERO_WIDTH = /^(?:\p{Mn}|\p{Me}|\p{Cf})$/u;
const EMOJI = /^\p{Emoji_Presentation}$/u;
const PICTOGRAPHIC = /^\p{Extended_Pictographic}$/u;

/** East Asian wide and fullwidth ranges (the blocks a terminal draws two columns wide). */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x16ff0, 0x16ff1],
  [0x17000, 0x187f7],
  [0x18800, 0x18cd5],
  [0x18d00, 0x18d08],
  [0x1aff0, 0x1affe],
  [0x1b000, 0x1b2fb],
  [0x1f004, 0x1f004],
  [0x1f0cf, 0x1f0cf],
  [0x1f18e, 0x1f18e],
  [0x1f191, 0x1f19a],
  [0x1f200, 0x1f265],
  [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff],
  [0x1f900, 0x1f9ff],
  [0x1fa70, 0x1faff],
  [0x20000, 0x3fffd],
];

// Made on first use: a Segmenter loads ICU's break data (~28 ms measured), which every
// `import "flowrhythm"` paid while this was made at load.
let segmenter: Intl.Segmenter | undefined;
const graphemes = (text: string) => (segmenter ??= new Intl.Segmenter()).segment(text);

/**
 * The columns one grapheme takes, as a terminal that measures code point by code point (tmux,
 * glibc's wcwidth) draws it: the sum of its code points' widths. So "कि", "กำ" and "👍🏽" take
 * 2, 2 and 4, where a grapheme-aware terminal draws 1, 1 and 2: over-counting only cuts a name
 * a little early, while under-counting wrapped lines and piled frames up (found by a trial).
 */
function graphemeWidth(g: string): number {
  let width = 0;
  const cps = [...g];
  for (let i = 0; i < cps.length; i++) width += codePointWidth(cps[i]!, cps[i + 1]);
  return width;
}

/** One code point's columns: 0 (combining, zero-width), 1, or 2 (wide, emoji). */
function codePointWidth(c: string, next: string | undefined): number {
  // The soft hyphen is a format character that terminals draw anyway (tmux, xterm: one column).
  if (c === "\u00ad") return 1;
  if (ZERO_WIDTH.test(c)) return 0;
  if (EMOJI.test(c) || (next === "\ufe0f" && PICTOGRAPHIC.test(c))) return 2;
  const cp = c.codePointAt(0)!;
  for (const [lo, hi] of WIDE) if (cp >= lo && cp <= hi) return 2;
  return 1;
}

/** The columns `text` takes on a terminal; `text` must already be clean (see {@link cleanText}). */
export function textWidth(text: string): number {
  // ASCII is one column a character: the common case needs no segmenting.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let width = 0;
  for (const { segment } of graphemes(text)) width += graphemeWidth(segment);
  return width;
}

/**
 * `text` cut to at most `width` columns, ending in `…` when it was cut; whole graphemes only, so
 * an emoji or an accent is never split.
 */
export function fitText(text: string, width: number): string {
  if (width <= 0) return "";
  if (textWidth(text) <= width) return text;
  let out = "";
  let used = 0;
  for (const { segment } of graphemes(text)) {
    const w = graphemeWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

/** `text` fitted to exactly `width` columns: cut (see {@link fitText}), then padded on the `side` given. */
export function padText(text: string, width: number, side: "start" | "end" = "end"): string {
  const fitted = fitText(text, width);
  const pad = " ".repeat(Math.max(0, width - textWidth(fitted)));
  return side === "end" ? fitted + pad : pad + fitted;
}
