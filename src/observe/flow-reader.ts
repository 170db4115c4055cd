import type { Flow } from "../flow/flow.js";
import { onRunEnd } from "../flow/observe.js";
import type { ScaleEvent } from "../model/events.js";
import type { FlowStats, StageStats } from "../stats/stage-stats.js";
import {
  type FlowMetric,
  METRICS,
  type MetricDef,
  SCALE_REASON_KINDS,
  type StageMetric,
  scaleReasonKind,
} from "./metric-set.js";

/**
 * Receives one point of one metric: the stage it belongs to (`null` for a flow metric), the
 * value of the metric's split attribute (`null` when it has none) and the number.
 */
export type PointVisitor = (def: MetricDef, stage: string | null, value: string | null, n: number) => void;

/** One counter series: its metric, and the split value it counts (`null`: the metric has none). */
interface Slot<S> {
  readonly def: MetricDef;
  readonly value: string | null;
  readonly read: (s: S) => number;
}

function slotsOf<S>(defs: readonly (FlowMetric | StageMetric)[]): Slot<S>[] {
  const slots: Slot<S>[] = [];
  for (const def of defs) {
    if (def.kind !== "counter" || (def.scope === "stage" && def.scaleEvents)) continue;
    const read = def.split?.read as Record<string, (s: S) => number> | undefined;
    if (read) for (const value of def.split!.values) slots.push({ def, value, read: read[value]! });
    else slots.push({ def, value: null, read: def.read as (s: S) => number });
  }
  return slots;
}

const FLOW_COUNTERS = slotsOf<FlowStats>(METRICS.filter((d): d is FlowMetric => d.scope === "flow"));
const STAGE_COUNTERS = slotsOf<StageStats>(METRICS.filter((d): d is StageMetric => d.scope === "stage"));
const SCALE_METRIC = METRICS.find((d): d is StageMetric => d.scope === "stage" && d.scaleEvents === true)!;

const isLive = (s: FlowStats): boolean =>
  s.state === "running" || s.state === "draining" || s.state === "stopping";

/**
 * Reads a flow's metrics from one stats snapshot per collection, for every exporter. Nothing
 * here runs per item: the counters are the flow's own, read when a collector asks.
 *
 * Counters stay monotonic across runs of the flow. A run's counters start from zero, so when a
 * run ends (`onRunEnd`: before any `drained` or `stopped` listener could start the next run) its
 * final counts are folded into a base, and a reading is base + the live run's counts while one
 * runs, or the base alone once it has ended. Stages that existed in an earlier run keep their
 * counter series; gauges are only the current run's stages.
 */
export class FlowReader {
  readonly #flow: Flow<any, any>;
  readonly #flowBase = new Float64Array(FLOW_COUNTERS.length);
  readonly #stageBase = new Map<string, Float64Array>();
  /** Scale events per stage and reason kind: bounded by stages × {@link SCALE_REASON_KINDS}. */
  readonly #scales = new Map<string, Float64Array>();
  /** Told of a run's end before any listener of the flow's: its final counts, never a next run's. */
  readonly #onEnd = (s: FlowStats): void => this.#fold(s);
  readonly #offEnd: () => void;
  readonly #onScale = (event: ScaleEvent): void => {
    const row = this.#scaleRow(event.stage);
    row[SCALE_REASON_KINDS.indexOf(scaleReasonKind(event.reason))]! += 1;
  };
  #closed = false;

  constructor(flow: Flow<any, any>) {
    this.#flow = flow;
    flow.on("scale", this.#onScale);
    this.#offEnd = onRunEnd(flow, this.#onEnd);
    // Observed after a run ended: that run's counts are final, and count.
    const s = flow.stats();
    if (s.state === "drained" || s.state === "stopped") this.#fold(s);
  }

  /** The flow's `name` option: the `flowrhythm.flow.name` attribute. */
  get flowName(): string {
    return this.#flow.name;
  }

  /** Takes one stats snapshot, hands every point of every metric but the histograms to `visit`, and returns it. */
  read(visit: PointVisitor): FlowStats {
    const s = this.#flow.stats();
    const live = isLive(s);
    const current = new Map<string, StageStats>();
    for (const st of s.stages) current.set(st.stageName, st);
    for (const st of s.stages) this.#stageRow(st.stageName);
    for (let i = 0; i < FLOW_COUNTERS.length; i++) {
      const slot = FLOW_COUNTERS[i]!;
      visit(slot.def, null, slot.value, this.#flowBase[i]! + (live ? slot.read(s) : 0));
    }
    for (let i = 0; i < STAGE_COUNTERS.length; i++) {
      const slot = STAGE_COUNTERS[i]!;
      for (const [stage, base] of this.#stageBase) {
        const st = live ? current.get(stage) : undefined;
        visit(slot.def, stage, slot.value, base[i]! + (st ? slot.read(st) : 0));
      }
    }
    for (const st of current.values()) this.#scaleRow(st.stageName);
    for (const [stage, row] of this.#scales)
      for (let k = 0; k < SCALE_REASON_KINDS.length; k++)
        visit(SCALE_METRIC, stage, SCALE_REASON_KINDS[k]!, row[k]!);
    for (const def of METRICS) {
      if (def.kind === "counter" || def.kind === "histogram") continue;
      if (def.scope === "flow") visitGauge(def, null, s, visit);
      else for (const st of s.stages) visitGauge(def, st.stageName, st, visit);
    }
    return s;
  }

  /** Stops listening to the flow. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#flow.off("scale", this.#onScale);
    this.#offEnd();
  }

  #fold(s: FlowStats): void {
    for (let i = 0; i < FLOW_COUNTERS.length; i++) this.#flowBase[i]! += FLOW_COUNTERS[i]!.read(s);
    for (const st of s.stages) {
      const row = this.#stageRow(st.stageName);
      for (let i = 0; i < STAGE_COUNTERS.length; i++) row[i]! += STAGE_COUNTERS[i]!.read(st);
    }
  }

  #stageRow(stage: string): Float64Array {
    let row = this.#stageBase.get(stage);
    if (!row) this.#stageBase.set(stage, (row = new Float64Array(STAGE_COUNTERS.length)));
    return row;
  }

  #scaleRow(stage: string): Float64Array {
    let row = this.#scales.get(stage);
    if (!row) this.#scales.set(stage, (row = new Float64Array(SCALE_REASON_KINDS.length)));
    return row;
  }
}

function visitGauge<S>(def: MetricDef, stage: string | null, s: S, visit: PointVisitor): void {
  const split = def.split as
    | { values: readonly string[]; read?: Record<string, (s: S) => number> }
    | undefined;
  if (split?.read) {
    for (const value of split.values) visit(def, stage, value, split.read[value]!(s));
    return;
  }
  const n = (def.read as ((s: S) => number | null) | undefined)?.(s);
  if (n !== null && n !== undefined) visit(def, stage, null, n);
}
