import { Skip } from "../../model/item/skip.js";
import { Entry } from "../../plan/stage-spec.js";
import type { Outlet } from "../outlet/outlets.js";
import { type Emitter, Slot, type SlotKind } from "../outlet/reorder-buffer.js";
import { type WorkerHost, WorkerState } from "./worker-host.js";

/** What handing a result on needs of a worker. */
export interface HandingWorker extends Emitter {
  readonly stage: WorkerHost;
  state: WorkerState;
  /** The sequence number of the call in hand (ordered stages). */
  readonly seq: number;
  failEntry(entry: unknown, id: number, error: unknown, slot: SlotKind): Promise<void>;
  sendTo(outlet: Outlet, value: unknown, label: unknown, id: number): undefined | Promise<void>;
}

/** A worker's call for `entry` (item `id`) returned `Last(value)`: the flow ends after it. */
export function handLast(
  w: HandingWorker,
  entry: unknown,
  id: number,
  value: unknown,
): undefined | Promise<void> {
  const stage = w.stage;
  if (stage.classifier || stage.inBranch) {
    const where = stage.classifier
      ? "a router's classifier"
      : "a stage inside a fan-out branch (return it from the merge instead)";
    return w.failEntry(entry, id, new Error(`Last() cannot be returned by ${where}`), Slot.Hole);
  }
  stage.run.lastReturned(stage);
  if (value === Skip) {
    // `Last(Skip)`: the flow ends here, and this item with it, skipped.
    stage.skipped(entry, id);
    if (stage.reorder !== null) return stage.reorder.complete(w, w.seq, Slot.Last, Skip, Skip, id);
    stage.takeOutletForLast();
    return undefined;
  }
  const out = stage.entryKind === Entry.Plain ? value : stage.output(entry, value);
  if (stage.reorder !== null) return stage.reorder.complete(w, w.seq, Slot.Last, out, out, id);
  return w.sendTo(stage.takeOutletForLast(), out, out, id);
}

/** Waits, counted as blocked, for a send to be taken; a refused value is dropped. */
export async function whileBlocked(
  w: HandingWorker,
  sent: Promise<boolean>,
  value: unknown,
  id: number,
): Promise<void> {
  const stage = w.stage;
  stage.setState(w, WorkerState.Blocked);
  const accepted = await sent;
  stage.setState(w, WorkerState.Busy);
  if (!accepted) stage.drop(value, id, stage.run.refusalReason());
}

/** Waits, counted as blocked, until `p` settles. */
export async function blockedUntil(w: HandingWorker, p: Promise<void>): Promise<void> {
  const stage = w.stage;
  stage.setState(w, WorkerState.Blocked);
  await p;
  stage.setState(w, WorkerState.Busy);
}

/**
 * The flow is stopping and `w`'s call that took the slot `w.seq` will not run or not end: the
 * slot is given up, and what waited behind it alone is dropped (`STOPPED`) at once.
 */
export function giveUpSlot(w: Pick<HandingWorker, "stage" | "seq">): void {
  const stage = w.stage;
  if (stage.reorder !== null) stage.reorder.abandon(w.seq, (value, id) => stage.drop(value, id, "STOPPED"));
}
