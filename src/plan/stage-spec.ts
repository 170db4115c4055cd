import type { ThreadSpec } from "../model/threaded.js";
import type { BatchSettings } from "../model/batch.js";
import type { DeadLetterSink } from "../model/events.js";
import type { QueueDiscipline } from "../model/options.js";
import type { RetryPolicy } from "../model/retry.js";
import type { StageRole } from "../model/stage-tree.js";
import type { StageContext, WorkerInfo, WorkerResource } from "../model/types.js";
import type { ScalingStrategy } from "../scaling/scaling-strategy.js";

/** What a stage's queue holds: items, a fan-out branch's envelopes, or a fan-out's join records. */
export const Entry = { Plain: 0, Envelope: 1, Record: 2 } as const;
export type EntryKind = (typeof Entry)[keyof typeof Entry];

/** Everything needed to build a running stage. */
export interface StageSpec {
  readonly name: string;
  readonly role: StageRole;
  readonly fn: ((item: any, ctx: StageContext) => unknown) | null;
  readonly factory:
    | ((worker: WorkerInfo) => WorkerResource<any, any> | PromiseLike<WorkerResource<any, any>>)
    | null;
  /** A `threaded` stage: how its threads are made (its calls run there, not through `factory`). */
  readonly threads: ThreadSpec | null;
  readonly strategy: ScalingStrategy;
  readonly queueSize: number;
  readonly queue: QueueDiscipline;
  readonly ordered: boolean;
  readonly batch: BatchSettings | null;
  /** A `flatMap` stage: each call gives the item's children. */
  readonly expand: boolean;
  readonly entry: EntryKind;
  /** Inside a fan-out branch: `Last` is not allowed there. */
  readonly inBranch: boolean;
  readonly retry: RetryPolicy | null;
  /** Per-attempt deadline in ms; 0: none. */
  readonly timeoutMs: number;
  /** The stage's own dead-letter sink (else the flow's). */
  readonly deadLetter: DeadLetterSink | null;
  /** Which call errors mean the service behind the stage is overloaded. */
  readonly overloadOn: (error: unknown) => boolean;
  /** Calls a second for the whole stage, and how many at once; null: no limit. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number } | null;
}
