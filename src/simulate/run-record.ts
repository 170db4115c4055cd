import type { Histogram } from "hdr-histogram-js";
import type { ResolvedScenario, Scenario } from "./scenario.js";

/** Width of the completion and arrival bins the metrics are computed from. */
export const BIN_MS = 100;

/** What one run recorded; `computeMetrics` turns it into the suite's figures. */
export interface RunRecord {
  /** The scenario as run, defaults filled in. */
  readonly scenario: ResolvedScenario;
  /** Its length, ms of virtual time. */
  readonly durationMs: number;
  /** Completions per {@link BIN_MS} bin (only those within the scenario's duration). */
  readonly completions: Uint32Array;
  /** Poisson arrivals per bin, as offered (a blocked source delivers them late, not fewer). */
  readonly offered: Uint32Array;
  /** The stage's worker count over time: `[ms, workers]` at the start and at each change. */
  readonly timeline: readonly (readonly [number, number])[];
  /** Queue wait of every item, ms. */
  readonly waitAll: Histogram;
  /** Queue wait of items dequeued more than 10 s after a phase change, ms. */
  readonly waitSteady: Histogram;
  /** Processing time of every item, ms. */
  readonly processing: Histogram;
  /** The reason of every scale event, in order. */
  readonly scaleReasons: readonly string[];
  /** When the last item of a batch completed, ms (`NaN`: not a batch, or not all done in time). */
  readonly completedAtMs: number;
  /** Calls made to the dependency after the first 5 s. */
  readonly callsAfterWarmup: number;
  /** Of those calls, the ones refused as overloaded. */
  readonly overloadsAfterWarmup: number;
  /** Items that failed for good (after their retries). */
  readonly failedItems: number;
}

/** Calls in the first this many ms are not counted in the overload share (a controller learns). */
export const WARMUP_MS = 5000;

/** Phase start times, ms. */
export function phaseStarts(s: Pick<Scenario, "phases">): number[] {
  const starts: number[] = [];
  let t = 0;
  for (const p of s.phases) {
    starts.push(t);
    t += p.durationS * 1000;
  }
  starts.push(t);
  return starts;
}
