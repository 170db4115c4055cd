import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureNats } from "./support/nats.js";

const dir = fileURLToPath(new URL("../examples/", import.meta.url));
// The demo runs for ~15 s and is exercised by `npm run demo`; every other example is quick.
const examples = readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "demo.ts");

function run(file: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", `${dir}${file}`],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error.code as number) ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

describe("examples", () => {
  // examples/broker.ts consumes a NATS JetStream stream: start the local server if it is not up.
  beforeAll(() => ensureNats(), 15_000);

  it("has one example per shape", () => {
    for (const name of [
      "router",
      "fan-out",
      "batch",
      "last",
      "push",
      "sub-flow",
      "ordered",
      "driving",
      "dead-letters",
      "broker",
      "crawler",
      "etl",
      "threads",
      "progress",
      "prometheus",
    ])
      expect(examples).toContain(`${name}.ts`);
  });

  it.concurrent.each(examples)("%s runs and checks its own result", async (file) => {
    const { code, out } = await run(file);
    expect(out).toMatch(/^ok: /m);
    expect(code).toBe(0);
  });
});
