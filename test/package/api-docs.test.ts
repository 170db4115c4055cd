import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { root } from "./consumers.js";

/**
 * The API reference is generated from the TSDoc comments (`npm run docs:api`, configured in
 * `typedoc.json`). Here typedoc runs into a temporary folder with the same configuration, whose
 * `treatWarningsAsErrors` makes a broken `{@link}`, an unexported type in a public signature or
 * a malformed tag fail the run.
 */

interface TypedocConfig {
  entryPoints: string[];
  treatWarningsAsErrors?: boolean;
}

interface Reflection {
  name: string;
  children?: Reflection[];
}

const config = JSON.parse(readFileSync(join(root, "typedoc.json"), "utf8")) as TypedocConfig;
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  name: string;
  exports: Record<string, string | { default: string }>;
};

/** Each entry of the `exports` map, as the subpath users import and the source file it is built from. */
const entries = Object.entries(pkg.exports)
  .filter(([, target]) => typeof target !== "string" || target.endsWith(".js"))
  .map(([subpath, target]) => {
    const built = typeof target === "string" ? target : target.default;
    return {
      module: subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
      source: built.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"),
    };
  });

const out = mkdtempSync(join(tmpdir(), "flowrhythm-api-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("the generated API reference", () => {
  it("covers every entry point of the package and treats warnings as errors", () => {
    expect(entries.length).toBeGreaterThanOrEqual(2);
    expect(config.entryPoints.slice().sort()).toEqual(entries.map((e) => e.source).sort());
    expect(config.treatWarningsAsErrors).toBe(true);
  });

  it("builds from the TSDoc comments without a warning, documenting every value export", async () => {
    const run = spawnSync(
      process.execPath,
      [
        join(root, "node_modules/typedoc/bin/typedoc"),
        "--out",
        join(out, "html"),
        "--json",
        join(out, "api.json"),
      ],
      { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
    );
    const output = `${run.stdout}${run.stderr}`;
    expect(output).not.toMatch(/\[(warning|error)\]/);
    expect(run.status, output).toBe(0);

    const api = JSON.parse(readFileSync(join(out, "api.json"), "utf8")) as Reflection;
    const modules = new Map((api.children ?? []).map((m) => [m.name, m]));
    expect([...modules.keys()].sort()).toEqual(entries.map((e) => e.module).sort());
    for (const entry of entries) {
      const documented = new Set((modules.get(entry.module)?.children ?? []).map((c) => c.name));
      const values = Object.keys(await import(join(root, entry.source)));
      expect(values.length).toBeGreaterThan(0);
      expect(
        values.filter((name) => !documented.has(name)),
        entry.module,
      ).toEqual([]);
    }
  }, 120_000);
});
