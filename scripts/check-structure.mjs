// Checks the source tree's shape: the layers' arrows run one way (a module imports only from its
// own layer or the ones below), no import cycle, no file in src/ over 400 lines, no folder in src/
// or test/ over 15 files. `node scripts/check-structure.mjs` prints what breaks a rule and exits 1;
// test/package/structure.test.ts runs it.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The layers from the bottom up; a path belongs to the last prefix it starts with. */
export const LAYERS = [
  ["src/errors.ts", "src/internal/"],
  ["src/clock/"],
  ["src/stats/"],
  ["src/scaling/"],
  ["src/model/"],
  ["src/plan/"],
  ["src/runtime/"],
  ["src/flow/"],
  ["src/observe/"],
  ["src/remote/"],
  ["src/simulate/", "src/testing.ts"],
  ["src/index.ts", "src/cli.ts", "src/opentelemetry.ts", "src/prometheus.ts", "src/redis.ts"],
];
export const MAX_LINES = 400;
export const MAX_FILES = 15;

const layerOf = (file) => {
  let found = -1;
  LAYERS.forEach((prefixes, i) => {
    if (prefixes.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p))) found = i;
  });
  return found;
};

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Every problem with the tree under `root`'s `src/`, as lines of text. */
export function checkStructure(root) {
  const problems = [];
  const files = walk(join(root, "src")).map((f) => relative(root, f).split("\\").join("/"));
  const imports = new Map();
  for (const file of files) {
    const text = readFileSync(join(root, file), "utf8");
    const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    if (lines > MAX_LINES) problems.push(`${file}: ${lines} lines (at most ${MAX_LINES})`);
    const layer = layerOf(file);
    if (layer < 0) problems.push(`${file}: in no layer (add its folder to LAYERS)`);
    const targets = [];
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      const target = normalize(join(dirname(file), m[1]))
        .split("\\")
        .join("/")
        .replace(/\.js$/, ".ts");
      targets.push(target);
      const to = layerOf(target);
      if (to > layer)
        problems.push(`${file} imports ${target}: an arrow up, from layer ${LAYERS[layer]} to ${LAYERS[to]}`);
    }
    imports.set(file, targets);
  }
  // Folder sizes count the tests too: a folder of 31 test files is as hard to find one's way in.
  const folders = new Map();
  const testDir = join(root, "test");
  const tests = existsSync(testDir) ? walk(testDir).map((f) => relative(root, f).split("\\").join("/")) : [];
  for (const file of [...files, ...tests]) folders.set(dirname(file), (folders.get(dirname(file)) ?? 0) + 1);
  for (const [folder, n] of folders)
    if (n > MAX_FILES) problems.push(`${folder}/: ${n} files (at most ${MAX_FILES})`);
  // Cycles: a depth-first search over every import, type-only ones included.
  const state = new Map();
  const stack = [];
  const visit = (file) => {
    state.set(file, 1);
    stack.push(file);
    for (const next of imports.get(file) ?? []) {
      if (!imports.has(next)) continue;
      if (state.get(next) === 1)
        problems.push(`cycle: ${[...stack.slice(stack.indexOf(next)), next].join(" -> ")}`);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 2);
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = checkStructure(fileURLToPath(new URL("..", import.meta.url)));
  for (const p of problems) console.log(p);
  if (problems.length > 0) process.exit(1);
  console.log("structure: layers one way, no cycles, files and folders within bounds");
}
