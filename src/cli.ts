#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { FlowConfigError } from "./errors.js";
import { checkBar, meanMetrics } from "./simulate/bar.js";
import type { ScenarioMetrics } from "./simulate/metrics.js";
import { BEYOND, parseScenario, type ResolvedScenario, SCENARIOS } from "./simulate/scenario.js";
import { simulate } from "./simulate/simulate.js";
import { STRATEGY_NAMES, type StrategyName, strategyFor } from "./simulate/strategies.js";
import { formatMetricsTable } from "./simulate/table.js";

const USAGE = `Usage: flowrhythm simulate <scenario.json | ${[...SCENARIOS, ...BEYOND].map((s) => s.id).join(" | ")}> [options]

Runs a workload through a real Flow under virtual time and prints the scaling metrics.

Options:
  --strategy <names>  comma-separated: ${STRATEGY_NAMES.join(", ")}, or all (default: adaptive)
  --seeds <n>         runs per strategy, with seeds 1..n; the table shows means (default: 3)
  --realtime          run on the real clock instead (takes as long as the scenario)
  --json              print the metrics as JSON instead of a table
  -h, --help          this text

A scenario file is JSON, for example:
  { "id": "mine", "serviceMs": 20, "phases": [{ "durationS": 30, "rate": 200, "nRef": 6 }] }
Fields: id, title, phases [{ durationS, rate, serviceMs?, xOpt?, nRef }], serviceMs, service
("constant" | "exponential" | "lognormal"), serviceCv, queueSize, dependencySlots,
downstream { workers, serviceMs, queueSize }, initialWorkers, maxWorkers.
`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      strategy: { type: "string", default: "adaptive" },
      seeds: { type: "string", default: "3" },
      realtime: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [command, target, ...rest] = positionals;
  if (command !== "simulate")
    throw new UsageError(command ? `unknown command "${command}"` : "no command given");
  if (!target) throw new UsageError("simulate needs a scenario file or a built-in scenario id");
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(" ")}`);
  const scenario = loadScenario(target);
  const names = (
    values.strategy === "all" ? [...STRATEGY_NAMES] : values.strategy.split(",")
  ) as StrategyName[];
  for (const n of names)
    if (!STRATEGY_NAMES.includes(n))
      throw new UsageError(`unknown strategy "${n}"; expected one of ${STRATEGY_NAMES.join(", ")} or all`);
  const seeds = Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1)
    throw new UsageError(`--seeds ${values.seeds}: expected a whole number ≥ 1`);

  const rows: [string, ScenarioMetrics][] = [];
  for (const name of names) {
    const runs: ScenarioMetrics[] = [];
    for (let seed = 1; seed <= seeds; seed++)
      runs.push(
        (await simulate(scenario, strategyFor(name, scenario), { seed, realtime: values.realtime })).metrics,
      );
    rows.push([name, meanMetrics(runs)]);
  }
  if (values.json) {
    const out = Object.fromEntries(rows);
    process.stdout.write(
      `${JSON.stringify(out, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? (Number.isNaN(v) ? null : String(v)) : v), 2)}\n`,
    );
    return 0;
  }
  process.stdout.write(
    `${scenario.id}${scenario.title ? ` — ${scenario.title}` : ""} (${values.realtime ? "real" : "virtual"} time, means of ${seeds} seed${seeds > 1 ? "s" : ""})\n`,
  );
  process.stdout.write(`${formatMetricsTable(rows)}\n`);
  const adaptive = rows.find(([n]) => n === "adaptive");
  if (adaptive && SCENARIOS.some((s) => s.id === scenario.id)) {
    const bar = checkBar({ [scenario.id]: adaptive[1] }, () => scenario.serviceMs, 5);
    for (const b of bar)
      process.stdout.write(
        `  ${b.pass ? "pass" : "MISS"}  ${b.metric}: ${b.measured.toFixed(2)} (${b.limit})\n`,
      );
  }
  return 0;
}

function loadScenario(target: string): ResolvedScenario {
  const builtIn = [...SCENARIOS, ...BEYOND].find((s) => s.id === target);
  if (builtIn) return parseScenario(builtIn);
  let text: string;
  try {
    text = readFileSync(target, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${target}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${target} is not JSON: ${(error as Error).message}`);
  }
  return parseScenario(json, target);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (
      error instanceof UsageError ||
      error instanceof FlowConfigError ||
      (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      process.stderr.write(`flowrhythm: ${(error as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`flowrhythm: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
