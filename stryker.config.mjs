// @ts-check
/**
 * `npm run mutation`: StrykerJS mutates src/scaling and runs the fast scaling unit tests
 * (vitest.mutation.config.ts) against each mutant. Not part of `npm test` or CI.
 *
 * Narrow it while working: `npm run mutation -- --mutate src/scaling/policy-scaling.ts`.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts" },
  mutate: ["src/scaling/**/*.ts"],
  coverageAnalysis: "perTest",
  concurrency: 2,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  ignorePatterns: ["dist", "bench/results", "reports", "scratch"],
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  thresholds: { high: 85, low: 70, break: null },
};
