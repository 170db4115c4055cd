import { defineConfig } from "vitest/config";

// Runs the checks that show where the seams' contracts do not fit a remote implementation yet.
export default defineConfig({ test: { include: ["test/contracts/prototype/*.check.ts"], pool: "forks" } });
