import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSUMERS, npm, runConsumers, snapshotRepo } from "./consumers.js";

/**
 * `npm install` from a git URL, against a snapshot of the working tree committed to a temporary
 * repository (a `git+file://` URL). npm clones it, installs every devDependency there, runs
 * `prepare` (the build) and packs the result: 25–60 s on two cores, so it runs under
 * `npm run test:git-install` (and in CI), not in `npm test`.
 */
describe.runIf(process.env.FLOWRHYTHM_GIT_INSTALL === "1")("installed from a git URL", () => {
  let tmp: string;
  let repo: string;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "flowrhythm-git-"));
    repo = join(tmp, "repo");
    mkdirSync(repo);
    snapshotRepo(repo);
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("builds through prepare, and is required and imported like the registry's package", () => {
    const app = join(tmp, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true }));
    npm(["install", `git+file://${repo}`], app);
    expect(existsSync(join(app, "node_modules", "flowrhythm", "dist", "index.js"))).toBe(true);
    const printed = runConsumers(app);
    for (const file of Object.keys(CONSUMERS))
      expect(printed[file], file).toEqual({
        out: [2, 4, 6],
        simulate: "function",
        refused: true,
        virtual: [2, 4, 6],
        inThreads: [2, 4, 6],
      });
  }, 300_000);

  it("installs without devDependencies: prepare says it cannot build, and does not fail", () => {
    const run = spawnSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], {
      cwd: repo,
      encoding: "utf8",
    });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain(
      "TypeScript is not installed (devDependencies left out?); dist/ is not rebuilt",
    );
    expect(existsSync(join(repo, "node_modules", "typescript"))).toBe(false);
    expect(existsSync(join(repo, "node_modules", "zod"))).toBe(true);
  }, 300_000);
});
