/**
 * Runs each contender of a benchmark in a fresh child process of the same script, one after the
 * other, so that one tool's garbage and global state (Effect's runtime leaves ~90 MB behind) do
 * not slow the next. The parent prints the children's mitata output and gets back ns/item per
 * bench name; a child registers its benches, runs mitata and prints one RESULT line.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { bench, measure, run } from "mitata";

export interface IsolatedRun {
  /** `import.meta.url` of the benchmark script. */
  readonly script: string;
  /** Items per benchmark iteration: mitata's time per iteration is divided by it. */
  readonly items: number;
  /** The contenders, each run in its own child. */
  readonly contenders: readonly string[];
  /** In the child: check the contender computes the right thing, then register its mitata benches. */
  readonly define: (contender: string) => void | Promise<void>;
}

/** In the parent: ns/item by bench name. In a child: runs its contender, prints, and returns null. */
export async function runIsolated(spec: IsolatedRun): Promise<Map<string, number> | null> {
  if (process.argv[2] === "--child") {
    await spec.define(process.argv[3]!);
    const result = await run({ format: "mitata" });
    const out: Record<string, number> = {};
    for (const trial of result.benchmarks)
      for (const r of trial.runs) if (r.stats) out[r.name] = r.stats.avg / spec.items;
    console.log(`RESULT ${JSON.stringify(out)}`);
    return null;
  }
  const nsPerItem = new Map<string, number>();
  for (const name of spec.contenders) {
    const res = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(spec.script), "--child", name],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const line = res.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    process.stdout.write(res.stdout.replace(/^RESULT .*$/m, ""));
    if (!line) throw new Error(`${name}: no result (exit ${res.status})`);
    for (const [k, v] of Object.entries(JSON.parse(line.slice(7)) as Record<string, number>))
      nsPerItem.set(k, v);
  }
  return nsPerItem;
}

/**
 * The per-case ratio table every multi-case benchmark prints: ns/item, the ratio to the bare
 * loop, and each peer's time over flowrhythm's. Returns the Markdown rows and ns/item by case.
 */
export function caseTable(
  result: Map<string, number>,
  cases: Record<string, Record<string, unknown>>,
  caseLabel: string,
): { rows: string; nsPerItem: Record<string, Record<string, number>> } {
  const rows = [
    `| ${caseLabel} | contender | ns/item | vs bare loop | flowrhythm speed-up |`,
    "|---|---|---:|---:|---:|",
  ];
  const nsPerItem: Record<string, Record<string, number>> = {};
  for (const c of Object.keys(cases)) {
    const bare = result.get(`${c}: bare await loop`)!;
    const ours = result.get(`${c}: flowrhythm`)!;
    const row: Record<string, number> = {};
    nsPerItem[c] = row;
    for (const name of Object.keys(cases[c]!)) {
      const ns = result.get(`${c}: ${name}`);
      if (ns === undefined) continue;
      row[name] = ns;
      const speedup = name === "flowrhythm" || name === "bare await loop" ? "" : `${(ns / ours).toFixed(2)}×`;
      rows.push(`| ${c} | ${name} | ${ns.toFixed(0)} | ${(bare / ns).toFixed(2)} | ${speedup} |`);
    }
  }
  return { rows: rows.join("\n"), nsPerItem };
}

/** A benchmark of several cases, each with its contenders: case → contender → one run. */
export interface CaseRun<C extends string> {
  readonly script: string;
  readonly items: number;
  readonly cases: Record<C, Record<string, () => Promise<void>>>;
  /** Contenders to run (the bare loop always runs); all when absent. */
  readonly only?: readonly string[] | undefined;
  /** Before every run of every contender: reset the checksum and any per-run state. */
  readonly reset: () => void;
  /** After a contender's first run of case `c`: throws if it computed the wrong thing. */
  readonly check: (c: C, name: string) => void;
}

/** Runs every contender of every case (each contender in its own child, see {@link runIsolated}). */
export function runCases<C extends string>(spec: CaseRun<C>): Promise<Map<string, number> | null> {
  const only = spec.only;
  const names = [
    ...new Set(Object.values<Record<string, unknown>>(spec.cases).flatMap((c) => Object.keys(c))),
  ];
  return runIsolated({
    script: spec.script,
    items: spec.items,
    contenders: names.filter((n) => !only || only.includes(n) || n === "bare await loop"),
    async define(name) {
      for (const c of Object.keys(spec.cases) as C[]) {
        const fn = spec.cases[c][name];
        if (!fn) continue;
        const once = async () => {
          spec.reset();
          await fn();
        };
        await once();
        spec.check(c, name);
        bench(`${c}: ${name}`, once);
      }
    },
  });
}

/** One case of a {@link runRounds} benchmark, as its child process sees it. */
export interface RoundCase {
  /** One timed iteration (`items` items). */
  readonly run: () => Promise<void>;
  /** After the first iteration: throws if it computed the wrong thing. */
  readonly check: () => void;
}

export interface RoundsRun {
  /** `import.meta.url` of the benchmark script. */
  readonly script: string;
  /** Items per iteration: the time per iteration is divided by it. */
  readonly items: number;
  /** The cases; each round runs every case once, each in its own child. */
  readonly cases: readonly string[];
  readonly rounds: number;
  /** How long a child times its case (after its first, checked iteration), in ms. */
  readonly budgetMs: number;
  /** In the child: the case to time. */
  readonly define: (name: string) => RoundCase;
  /** In the parent, after each case: what to print about it. */
  readonly progress?: (round: number, name: string, nsPerItem: number) => void;
}

/**
 * Runs every case once per round, each in a fresh child process of the same script (see
 * {@link runIsolated}), in an order rotated from round to round, so that whatever the machine
 * does in a given minute falls on different cases each round and ratios can be taken within a
 * round. A child runs its case once and checks it, then times it with mitata for about
 * `budgetMs` and reports the median iteration; a case whose first iteration took longer than the
 * budget is timed once more instead. In the parent: ns/item by case, one map per round; in a
 * child: null.
 */
export async function runRounds(spec: RoundsRun): Promise<Map<string, number>[] | null> {
  if (process.argv[2] === "--round-child") {
    const c = spec.define(process.argv[3]!);
    const t0 = performance.now();
    await c.run();
    const firstMs = performance.now() - t0;
    c.check();
    let ns: number;
    let samples = 1;
    if (firstMs >= spec.budgetMs) {
      // Slower than the budget (Effect with 4 workers takes seconds an iteration): one more, warm.
      const t1 = performance.now();
      await c.run();
      ns = (performance.now() - t1) * 1e6;
    } else {
      const stats = await measure(c.run, {
        min_cpu_time: spec.budgetMs * 1e6,
        min_samples: Math.min(12, Math.floor(spec.budgetMs / firstMs)),
      });
      ns = stats.p50;
      samples = stats.samples.length;
    }
    console.log(`RESULT ${JSON.stringify({ nsPerItem: ns / spec.items, samples })}`);
    return null;
  }
  const n = spec.cases.length;
  const stride = Math.max(1, Math.floor(n / spec.rounds));
  const rounds: Map<string, number>[] = [];
  for (let r = 0; r < spec.rounds; r++) {
    const round = new Map<string, number>();
    for (let k = 0; k < n; k++) {
      const name = spec.cases[(k + r * stride) % n]!;
      const res = spawnSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(spec.script), "--round-child", name],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 },
      );
      const line = res.stdout.split("\n").find((l) => l.startsWith("RESULT "));
      if (!line) throw new Error(`${name}: no result (exit ${res.status})\n${res.stdout}`);
      const ns = (JSON.parse(line.slice(7)) as { nsPerItem: number }).nsPerItem;
      round.set(name, ns);
      spec.progress?.(r, name, ns);
    }
    rounds.push(round);
  }
  return rounds;
}
