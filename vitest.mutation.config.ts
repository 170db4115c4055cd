import { defineConfig } from "vitest/config";

/**
 * The tests `npm run mutation` runs against each mutant of `src/scaling`: unit tests that feed
 * strategies hand-built `StageStats` and finish in milliseconds. The scenario suite, the flow
 * tests and the type tests stay out; they are slow and would only blur which test kills what.
 */
export default defineConfig({
  test: {
    include: ["test/scaling/**/*.test.ts"],
    exclude: [
      // Whole flows in virtual time: seconds per mutant, and they test the flow more than the strategy.
      "test/scaling/runtime/scaling-flow.test.ts",
      "test/scaling/runtime/worker-budget.test.ts",
    ],
    typecheck: { enabled: false },
    pool: "forks",
  },
});
