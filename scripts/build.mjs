// Builds dist/ from src/, from clean (a module removed from src/ must not linger in dist/).
//
// `npm run build` runs it; so does `prepare`, which npm runs on `npm install` in a clone, on an
// install from a git URL and before `npm pack` / `npm publish`. With `--if-typescript` (prepare)
// an install that left out the devDependencies, and so has no TypeScript, skips the build and
// says so instead of failing the install.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  if (process.argv.includes("--if-typescript")) {
    console.warn("flowrhythm: TypeScript is not installed (devDependencies left out?); dist/ is not rebuilt");
    process.exit(0);
  }
  throw new Error("flowrhythm: the build needs TypeScript; run npm install first");
}
rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
