import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkStructure } from "../../scripts/check-structure.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A throwaway tree with the given files (path → text). */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "structure-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe("the source tree's shape", () => {
  it("has layers whose arrows run one way, no import cycle, no file over 400 lines, no folder over 15 files", () => {
    expect(checkStructure(root)).toEqual([]);
  });

  it("the check finds an arrow up, a cycle, a long file and a full folder", () => {
    const files: Record<string, string> = {
      "src/scaling/s.ts": 'import { x } from "../runtime/r.js";\n',
      "src/runtime/r.ts": 'import { y } from "./q.js";\nexport const x = 1;\n',
      "src/runtime/q.ts": 'import { x } from "./r.js";\nexport const y = 2;\n',
      "src/model/long.ts": "export const a = 1;\n".repeat(401),
    };
    for (let i = 0; i < 16; i++) files[`src/stats/f${i}.ts`] = "export {};\n";
    for (let i = 0; i < 16; i++) files[`test/flow/t${i}.test.ts`] = "export {};\n";
    const problems: string[] = checkStructure(tree(files));
    expect(problems.some((p) => p.startsWith("src/scaling/s.ts imports src/runtime/r.ts: an arrow up"))).toBe(
      true,
    );
    expect(problems.some((p) => p.startsWith("cycle: ") && p.includes("src/runtime/q.ts"))).toBe(true);
    expect(problems).toContain("src/model/long.ts: 401 lines (at most 400)");
    expect(problems).toContain("src/stats/: 16 files (at most 15)");
    expect(problems).toContain("test/flow/: 16 files (at most 15)");
  });
});
