/**
 * Runs each contender of a benchmark in a fresh child process of the same script, one after the
 * other, so that one tool's garbage and global state (Effect's runtime leaves ~90 MB behind) do
 * not slow the next. The parent prints the children's mitata output and gets back ns/item per
 * bench name; a child registers its benches, runs mitata and prints one RESULT line.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { run } from "mitata";

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
