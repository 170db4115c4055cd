import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSUMERS, npm, OBSERVING, REMOTE, root, runConsumers } from "./consumers.js";
import { redisUp } from "../remote/redis-up.js";

/**
 * The package as a user gets it: `npm pack` (which builds through `prepare`), the tarball
 * installed into a fresh folder, then required from CommonJS, imported from ESM, and compiled
 * against from TypeScript. The dependencies come from npm's cache (`--prefer-offline`).
 */

const CONSUMER_TS = `
import { Flow, type StageOptions, AdaptiveScaling, batch } from "flowrhythm";
import { simulate, type Scenario } from "flowrhythm/simulate";
const stage: StageOptions<number> = { queueSize: 8, timeoutMs: 100, retry: { attempts: 2, backoff: { baseMs: 10 } } };
const flow = new Flow({ tickMs: 50, handleSignals: { exit: false } }).addTransformer((x: number) => x + 1, stage);
const strategy = new AdaptiveScaling({ maxWorkers: 8, headroom: 1 });
const grouped = batch(async (xs: number[]) => xs, { size: 4, flushMs: 20 });
const scenario: Scenario = { id: "mine", phases: [{ durationS: 1, rate: 10, nRef: 1 }] };
void flow; void strategy; void grouped; void simulate; void scenario;
`;

/** The optional peers a user adds for flowrhythm/opentelemetry, /prometheus and /redis, at the versions the tests run. */
const PEERS = [
  "@opentelemetry/api",
  "@opentelemetry/sdk-metrics",
  "@opentelemetry/sdk-trace-base",
  "prom-client",
  "bullmq",
  "ioredis",
].map((name) => {
  const { devDependencies } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  };
  return `${name}@${devDependencies[name]}`;
});

/** The option fields whose docs an editor must show, found in {@link CONSUMER_TS}. */
const DOCUMENTED = [
  "queueSize",
  "timeoutMs",
  "attempts",
  "baseMs",
  "tickMs",
  "exit",
  "maxWorkers",
  "headroom",
  "flushMs",
  "durationS",
];

/** Every exported options type: each of its fields must carry TSDoc in the published types. */
const OPTION_TYPES = {
  flowrhythm: [
    "FlowOptions",
    "StageOptions",
    "RetryOptions",
    "BackoffOptions",
    "RateLimitOptions",
    "DrainOptions",
    "SignalOptions",
    "RunOptions",
    "DumpOptions",
    "BatchOptions",
    "RouterOptions<unknown>",
    "FanOutOptions",
    "FixedScalingOptions",
    "UtilizationScalingOptions",
    "PolicyOptions",
    "AdaptiveScalingOptions",
    "TargetUtilizationScalingOptions",
    "ThroughputScalingOptions",
    "LatencyBudgetScalingOptions",
    "ThreadedOptions",
    "ProgressOptions",
  ],
  "flowrhythm/simulate": ["Scenario", "Phase", "SimulateOptions"],
  "flowrhythm/opentelemetry": ["TraceOptions"],
  "flowrhythm/prometheus": ["PrometheusMetricsOptions"],
  "flowrhythm/redis": ["DistributeOptions"],
  "flowrhythm/testing": ["VirtualClockOptions", "RunVirtualOptions"],
};

describe("the package, packed and installed as a user installs it", () => {
  let tmp: string;
  let files: string[];
  let app: string;
  /** What importing every entry but the observability ones printed, before the optional peers were installed. */
  let withoutPeers = "";

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "flowrhythm-pack-"));
    const [pack] = JSON.parse(npm(["pack", "--pack-destination", tmp, "--json"], root)) as {
      filename: string;
      files: { path: string }[];
    }[];
    files = pack!.files.map((f) => f.path);
    app = join(tmp, "app");
    execFileSync("mkdir", [app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true }));
    npm(["install", join(tmp, pack!.filename)], app);
    // The optional peers are not installed with the package: the core entries load without them.
    withoutPeers = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `for (const m of ["flowrhythm", "flowrhythm/simulate", "flowrhythm/testing"]) await import(m); console.log("ok")`,
      ],
      { cwd: app, encoding: "utf8" },
    ).trim();
    npm(["install", ...PEERS], app);
  }, 240_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("ships the build, the sources its maps point at, the docs and examples the README links, the LICENSE; no tests, no benches", () => {
    expect(files).toEqual(
      expect.arrayContaining(["LICENSE", "README.md", "package.json", "dist/index.js", "dist/index.d.ts"]),
    );
    expect(files.filter((f) => !/^(dist|src|docs|examples)\//.test(f)).sort()).toEqual([
      "CONTRIBUTING.md",
      "LICENSE",
      "README.md",
      "package.json",
    ]);
    // Every relative link of the README a user reads in node_modules resolves to a shipped file.
    const readme = readFileSync(join(app, "node_modules", "flowrhythm", "README.md"), "utf8");
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!);
    const relative = links.filter((l) => !/^[a-z]+:/.test(l));
    expect(relative.length).toBeGreaterThan(5);
    for (const link of relative) {
      const target = link.replace(/^\.\//, "").replace(/\/$/, "");
      expect(
        files.some((f) => f === target || f.startsWith(`${target}/`)),
        `README links ${link}`,
      ).toBe(true);
    }
    const maps = files.filter((f) => f.endsWith(".map"));
    expect(maps.length).toBeGreaterThan(50);
    const shipped = new Set(files);
    const installed = join(app, "node_modules", "flowrhythm");
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(installed, map), "utf8")) as { sources: string[] };
      for (const source of sources) {
        const target = join(map, "..", source).replaceAll("\\", "/");
        expect(shipped.has(target), `${map} points at ${target}`).toBe(true);
      }
    }
  });

  it("is required from CommonJS and imported from ESM, and runs a flow in each", () => {
    const printed = runConsumers(app);
    for (const file of Object.keys(CONSUMERS))
      expect(printed[file], file).toEqual({
        out: [2, 4, 6],
        simulate: "function",
        refused: true,
        virtual: [2, 4, 6],
        inThreads: [2, 4, 6],
      });
  });

  it("loads without its optional peers, and with them exports metrics and traces through the SDK and prom-client", () => {
    expect(withoutPeers).toBe("ok");
    writeFileSync(join(app, "observing.mjs"), OBSERVING);
    const out = execFileSync(process.execPath, ["observing.mjs"], { cwd: app, encoding: "utf8" });
    expect(JSON.parse(out.trim().split("\n").pop()!)).toEqual({ otel: true, spans: 3, prometheus: true });
  });

  it("runs a flow with a remote stage through Redis, with bullmq and ioredis installed", async () => {
    await redisUp().then((r) => r.disconnect());
    writeFileSync(join(app, "remote.mjs"), REMOTE);
    const out = execFileSync(process.execPath, ["remote.mjs"], {
      cwd: app,
      encoding: "utf8",
      env: { ...process.env, PREFIX: `pkg${process.pid}` },
    });
    expect(JSON.parse(out.trim().split("\n").pop()!)).toEqual({ itemsIn: 3, consumed: 3, out: [3, 5, 7] });
  });

  it("gives TypeScript its types, with every option's docs", () => {
    const file = join(app, "consumer.ts");
    writeFileSync(file, CONSUMER_TS);
    const options: ts.CompilerOptions = {
      strict: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      exactOptionalPropertyTypes: true,
      noEmit: true,
      types: [],
    };
    const host: ts.LanguageServiceHost = {
      getScriptFileNames: () => [file],
      getScriptVersion: () => "1",
      getScriptSnapshot: (f) =>
        ts.sys.fileExists(f) ? ts.ScriptSnapshot.fromString(ts.sys.readFile(f)!) : undefined,
      getCurrentDirectory: () => app,
      getCompilationSettings: () => options,
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: ts.sys.fileExists,
      readFile: ts.sys.readFile,
      readDirectory: ts.sys.readDirectory,
      directoryExists: ts.sys.directoryExists,
      getDirectories: ts.sys.getDirectories,
    };
    const service = ts.createLanguageService(host);
    const errors = [...service.getSyntacticDiagnostics(file), ...service.getSemanticDiagnostics(file)].map(
      (d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    );
    expect(errors).toEqual([]);
    const undocumented: string[] = [];
    for (const [module, names] of Object.entries(OPTION_TYPES)) {
      const probe = join(app, `probe-${module.replace("/", "-")}.ts`);
      writeFileSync(probe, names.map((n, i) => `export type T${i} = import("${module}").${n};`).join("\n"));
      const probeProgram = ts.createProgram([probe], options);
      const probeChecker = probeProgram.getTypeChecker();
      const source = probeProgram.getSourceFile(probe)!;
      source.statements.forEach((statement, i) => {
        const type = probeChecker.getTypeAtLocation((statement as ts.TypeAliasDeclaration).name);
        const fields = probeChecker.getPropertiesOfType(type);
        if (fields.length === 0) undocumented.push(`${names[i]}: no fields (does it resolve?)`);
        for (const field of fields)
          if (ts.displayPartsToString(field.getDocumentationComment(probeChecker)).trim() === "")
            undocumented.push(`${names[i]}.${field.name}`);
      });
    }
    expect(undocumented).toEqual([]);
    for (const field of DOCUMENTED) {
      const at = CONSUMER_TS.indexOf(`${field}:`);
      const info = service.getQuickInfoAtPosition(file, at);
      const doc = ts.displayPartsToString(info?.documentation);
      expect(doc, `the docs of ${field}`).not.toBe("");
    }
  });
});
