// Instructions per item, counted by callgrind (repeatable to ~0.1 % here, unlike time on this VM):
// the hot-path cost of a strategy that runs on every item event. `npm run bench:instructions`
// (builds first; needs valgrind). Each count is of a whole `node --predictable` process (V8's
// deterministic mode: one thread, fixed seeds) with `--predictable-gc-schedule` (heap growth and
// memory reduction by a fixed schedule, not by wall time: without it, counts under valgrind, where
// a run takes a minute, jumped ~10 % now and then); the run with no items is subtracted, so
// start-up and module loading cancel out.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { arch as nodeArch, tmpdir } from "node:os";
import { join } from "node:path";

const N = 20_000;
const arch = () => ({ x64: "x86_64", arm64: "aarch64" })[nodeArch()] ?? nodeArch();
const script = new URL("./pipeline.mjs", import.meta.url).pathname;

function instructions(kind, n, env = {}) {
  const out = join(tmpdir(), `flowrhythm-cg-${process.pid}-${kind}-${n}`);
  // setarch -R turns address randomization off: with it on, counts vary by ±5 % run to run.
  const r = spawnSync(
    "setarch",
    [
      arch(),
      "-R",
      "valgrind",
      "--tool=callgrind",
      `--callgrind-out-file=${out}`,
      process.execPath,
      "--predictable",
      "--predictable-gc-schedule",
      "--random-seed=1",
      "--hash-seed=1",
      script,
      kind,
      String(n),
    ],
    { encoding: "utf8", env: { ...process.env, ...env } },
  );
  if (r.status !== 0) throw new Error(`valgrind failed (${r.status}): ${r.stderr.slice(-500)}`);
  const total = /^summary: (\d+)/m.exec(readFileSync(out, "utf8"));
  rmSync(out, { force: true });
  if (!total) throw new Error("no summary line in the callgrind output");
  return Number(total[1]);
}

// The counts are bimodal: now and then a run counts ~10 % more for the same code (seen in both
// kinds). Each count is taken three times, printed, and the median used.
const median = (kind, n, env = {}) => {
  const runs = [0, 1, 2].map(() => instructions(kind, n, env));
  const warm = env.WARM ? ` after ${env.WARM}` : "";
  console.log(
    `  ${kind} × ${n} items${warm}: ${runs.map((r) => (r / 1e6).toFixed(1)).join(", ")} M instructions`,
  );
  return runs.sort((x, y) => x - y)[1];
};

// `node bench/instructions/run.mjs fixed lean` counts only those kinds (`lean`: the hand-written
// pipeline of bench/lean-pipeline.mjs, the architecture's floor).
const kinds = process.argv.length > 2 ? process.argv.slice(2) : ["fixed", "adaptive"];
const perItem = {};
const steady = {};
for (const kind of kinds) {
  const base = median(kind, 0);
  const full = median(kind, N);
  perItem[kind] = (full - base) / (2 * N);
  console.log(`${kind.padEnd(9)} ${perItem[kind].toFixed(0)} instructions per item (3 stages × 4 workers)`);
  // The figure above includes the warm-up (TurboFan compiling the hot path, the first items in
  // the interpreter): over half of it at this N, and most of a 1 %-sampled tracer's (its code runs
  // a hundredth as often, and compiles late). STEADY=1 counts N and 2N items after WARM items of
  // the same kind (default 100,000, the kind's code compiled by then); the difference is what an
  // item costs in a process that has run a while, which is what the timed benches see.
  if (process.env.STEADY) {
    const env = { WARM: process.env.WARM ?? "100000" };
    const once = median(kind, N, env);
    const twice = median(kind, 2 * N, env);
    steady[kind] = (twice - once) / (2 * N);
    console.log(`${kind.padEnd(9)} ${steady[kind].toFixed(0)} instructions per item in steady state`);
  }
}
if (perItem.adaptive !== undefined && perItem.fixed !== undefined)
  console.log(
    `AdaptiveScaling costs ${((perItem.adaptive / perItem.fixed - 1) * 100).toFixed(1)} % more than FixedScaling per item`,
  );
const OBSERVED = ["metrics", "sdk", "traced", "sdk-spans", "traced-api", "traced-zero", "traced-als", "als"];
for (const kind of OBSERVED)
  if (perItem[kind] !== undefined && perItem.fixed !== undefined)
    console.log(
      `${kind} costs ${((perItem[kind] / perItem.fixed - 1) * 100).toFixed(1)} % more than FixedScaling per item`,
    );
for (const kind of OBSERVED)
  if (steady[kind] !== undefined && steady.fixed !== undefined)
    console.log(
      `${kind} costs ${((steady[kind] / steady.fixed - 1) * 100).toFixed(1)} % more than FixedScaling per item in steady state`,
    );
// The metrics kind exports once after each round: 2 exports in each counted run, so the steady
// figure leaves them out. What an export costs: ROUNDS=4 less ROUNDS=2 (see pipeline.mjs).
if (perItem.metrics !== undefined && process.env.EXPORTS === undefined)
  console.log(
    "metrics: 2 exports in each counted run (one per round); ROUNDS=4 less ROUNDS=2, less the same for fixed, gives two exports' cost",
  );
if (perItem.lean !== undefined && perItem.fixed !== undefined)
  console.log(
    `the lean pipeline takes ${(perItem.lean / perItem.fixed).toFixed(2)} of FixedScaling's instructions per item`,
  );
