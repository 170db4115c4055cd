// Instructions per item, counted by callgrind (repeatable to ~0.1 % here, unlike time on this VM):
// the hot-path cost of a strategy that runs on every item event. `npm run bench:instructions`
// (builds first; needs valgrind). Each count is of a whole `node --predictable` process (V8's deterministic mode: one thread, fixed seeds); the
// run with no items is subtracted, so start-up and module loading cancel out.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { arch as nodeArch, tmpdir } from "node:os";
import { join } from "node:path";

const N = 20_000;
const arch = () => ({ x64: "x86_64", arm64: "aarch64" })[nodeArch()] ?? nodeArch();
const script = new URL("./pipeline.mjs", import.meta.url).pathname;

function instructions(kind, n) {
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
      "--random-seed=1",
      "--hash-seed=1",
      script,
      kind,
      String(n),
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`valgrind failed (${r.status}): ${r.stderr.slice(-500)}`);
  const total = /^summary: (\d+)/m.exec(readFileSync(out, "utf8"));
  rmSync(out, { force: true });
  if (!total) throw new Error("no summary line in the callgrind output");
  return Number(total[1]);
}

// The counts are bimodal: now and then a run counts ~10 % more for the same code (seen in both
// kinds). Each count is taken three times, printed, and the median used.
const median = (kind, n) => {
  const runs = [0, 1, 2].map(() => instructions(kind, n));
  console.log(`  ${kind} × ${n} items: ${runs.map((r) => (r / 1e6).toFixed(1)).join(", ")} M instructions`);
  return runs.sort((x, y) => x - y)[1];
};

// `node bench/instructions/run.mjs fixed lean` counts only those kinds (`lean`: the hand-written
// pipeline of bench/lean-pipeline.mjs, the architecture's floor).
const kinds = process.argv.length > 2 ? process.argv.slice(2) : ["fixed", "adaptive"];
const perItem = {};
for (const kind of kinds) {
  const base = median(kind, 0);
  const full = median(kind, N);
  perItem[kind] = (full - base) / (2 * N);
  console.log(`${kind.padEnd(9)} ${perItem[kind].toFixed(0)} instructions per item (3 stages × 4 workers)`);
  // The figure above includes the warm-up (TurboFan compiling the hot path, the first items in
  // the interpreter): over half of it at this N. STEADY=1 also counts 2N items; the difference is
  // what an item costs once the code is optimized, which is what the timed benches see.
  if (process.env.STEADY) {
    const twice = median(kind, 2 * N);
    console.log(
      `${kind.padEnd(9)} ${((twice - full) / (2 * N)).toFixed(0)} instructions per item in steady state`,
    );
  }
}
if (perItem.adaptive !== undefined && perItem.fixed !== undefined)
  console.log(
    `AdaptiveScaling costs ${((perItem.adaptive / perItem.fixed - 1) * 100).toFixed(1)} % more than FixedScaling per item`,
  );
for (const kind of ["metrics", "sdk", "traced", "traced-als", "traced-api", "als"])
  if (perItem[kind] !== undefined && perItem.fixed !== undefined)
    console.log(
      `${kind} costs ${((perItem[kind] / perItem.fixed - 1) * 100).toFixed(1)} % more than FixedScaling per item`,
    );
// The metrics kind exports once after each round: 2 exports in the counted run (EXPORTS=11: 22).
if (perItem.metrics !== undefined && process.env.EXPORTS === undefined)
  console.log(
    "metrics: 2 exports in the counted run (one per 20,000 items); EXPORTS=11 (22) less this gives the cost of an export",
  );
if (perItem.lean !== undefined && perItem.fixed !== undefined)
  console.log(
    `the lean pipeline takes ${(perItem.lean / perItem.fixed).toFixed(2)} of FixedScaling's instructions per item`,
  );
