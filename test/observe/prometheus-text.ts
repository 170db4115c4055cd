/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for the tests: every line
 * must be a `# HELP`, a `# TYPE`, a sample of a family declared above it, or a blank line between
 * families; label values must use only the format's escapes (`\\`, `\"`, `\n`). Anything else
 * throws, naming the line.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  help: string | undefined;
  type: string | undefined;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function unescapeHelp(text: string, line: number): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new Error(`line ${line}: bad escape \\${c} in HELP`);
  });
}

function parseValue(text: string, line: number): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`line ${line}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

/** The family a sample name belongs to: a histogram's `_bucket`, `_sum` and `_count` belong to it. */
function familyOf(families: Map<string, Family>, name: string): Family | undefined {
  const own = families.get(name);
  if (own) return own;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && (f.type === "histogram" || f.type === "summary")) return f;
  }
  return undefined;
}

function parseSample(text: string, line: number): Sample {
  const name = NAME.exec(text)?.[0];
  if (!name) throw new Error(`line ${line}: no metric name`);
  let i = name.length;
  const labels: Record<string, string> = {};
  if (text[i] === "{") {
    i++;
    while (text[i] !== "}") {
      const label = LABEL.exec(text.slice(i))?.[0];
      if (!label) throw new Error(`line ${line}: bad label name at ${i}`);
      i += label.length;
      if (text.slice(i, i + 2) !== '="') throw new Error(`line ${line}: expected =" after ${label}`);
      i += 2;
      let value = "";
      for (;;) {
        const c = text[i];
        if (c === undefined) throw new Error(`line ${line}: unterminated value of ${label}`);
        if (c === '"') break;
        if (c === "\\") {
          const next = text[i + 1];
          if (next === "\\") value += "\\";
          else if (next === '"') value += '"';
          else if (next === "n") value += "\n";
          else throw new Error(`line ${line}: bad escape \\${next} in ${label}`);
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      i++;
      if (label in labels) throw new Error(`line ${line}: label ${label} twice`);
      labels[label] = value;
      if (text[i] === ",") i++;
      else if (text[i] !== "}") throw new Error(`line ${line}: expected , or } at ${i}`);
    }
    i++;
  }
  if (text[i] !== " ") throw new Error(`line ${line}: expected a space before the value`);
  const parts = text.slice(i + 1).split(" ");
  if (parts.length > 2) throw new Error(`line ${line}: too many fields`);
  if (parts.length === 2 && !/^-?\d+$/.test(parts[1]!)) throw new Error(`line ${line}: bad timestamp`);
  return { name, labels, value: parseValue(parts[0]!, line) };
}

/** Parses a whole exposition; throws at the first line that does not fit the format. */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition does not end with a newline");
  const families = new Map<string, Family>();
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw === "") return;
    const meta = /^# (HELP|TYPE) ([^ ]+) ?(.*)$/.exec(raw);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!NAME.test(name) || NAME.exec(name)![0] !== name) throw new Error(`line ${line}: bad name ${name}`);
      let f = families.get(name);
      if (!f) families.set(name, (f = { name, help: undefined, type: undefined, samples: [] }));
      if (f.samples.length > 0) throw new Error(`line ${line}: ${kind} of ${name} after its samples`);
      if (kind === "HELP") {
        if (f.help !== undefined) throw new Error(`line ${line}: second HELP of ${name}`);
        f.help = unescapeHelp(rest, line);
      } else {
        if (f.type !== undefined || !TYPES.has(rest))
          throw new Error(`line ${line}: bad TYPE ${rest} of ${name}`);
        f.type = rest;
      }
      return;
    }
    if (raw.startsWith("#")) throw new Error(`line ${line}: unexpected comment ${JSON.stringify(raw)}`);
    const sample = parseSample(raw, line);
    const f = familyOf(families, sample.name);
    if (!f?.type) throw new Error(`line ${line}: sample ${sample.name} of no declared family`);
    f.samples.push(sample);
  });
  return families;
}

/** The one sample of `family` (or its `name`) whose labels are exactly `labels`. */
export function sampleOf(
  families: Map<string, Family>,
  family: string,
  labels: Record<string, string>,
  name = family,
): number | undefined {
  const f = families.get(family);
  const found = (f?.samples ?? []).filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1)
    throw new Error(`${family}: ${found.length} samples with labels ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
