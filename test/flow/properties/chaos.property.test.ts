import fc from "fast-check";
import { afterAll, beforeAll, describe, it, vi } from "vitest";
import { checkOutcome, runScenario, scenarioArb } from "../../support/topology.js";

// `npm run chaos` runs this with CHAOS_RUNS=2000 and a fresh seed; a failure prints the seed and
// the path, which replay with CHAOS_SEED=<seed> (and fast-check's `path`).
const RUNS = Number(process.env.CHAOS_RUNS ?? 200);
const SEED = Number(process.env.CHAOS_SEED ?? 20261130);

describe("chaos in real time (property)", () => {
  // Failing perWorker factories are logged once per stage: thousands of lines over the runs.
  beforeAll(() => void vi.spyOn(console, "error").mockImplementation(() => {}));
  afterAll(() => void vi.restoreAllMocks());

  it(
    "real timers, random shapes (stream and push too), rate limits and overload classifiers, random scaling, throwing listeners and random stop/drain: every item has one outcome, order holds where promised, nothing is in flight when a run says it is over",
    async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, async (sc) => checkOutcome(sc, await runScenario(sc, null))),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
    Math.max(120_000, RUNS * 2_000), // real time on a loaded machine: ~0.5 s a case, often more
  );
});
