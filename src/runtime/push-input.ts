import { FlowConfigError } from "../errors.js";
import type { DropReason } from "../model/events.js";
import type { Outlet } from "./outlet/outlets.js";
import type { RefusalReason, SendResult } from "./push-handle.js";
import type { Stage } from "./stage/stage.js";
import type { Lineage } from "./lineage.js";

/** What push mode needs from the run it feeds. */
export interface PushInputHost {
  /** An item enters: counted in `itemsIn`, and given its id. */
  admit(): number;
  /** Who waits for an acknowledged item's outcome. */
  readonly outcomes: { readonly lineage: Lineage };
  /** Why the flow takes no more input, or `null` while it does. */
  refusal(): RefusalReason | null;
  /** Why a channel refused a value it had waited for: the flow stopped, or a `Last` cut it off. */
  refusalReason(): DropReason;
}

const QUEUED: SendResult = Object.freeze({ status: "queued" });
const FULL: SendResult = Object.freeze({ status: "refused", reason: "FULL" });
const ABORTED: SendResult = Object.freeze({ status: "refused", reason: "ABORTED" });

/**
 * The run's side of push mode: counts items in, sends them to the flow's entry, and keeps the
 * entry open while sends still wait for room.
 *
 * An item enters the flow (it is counted in `itemsIn` and will have exactly one outcome) once a
 * send for it starts; a send that is refused before that (the flow takes no more input, the
 * signal had already aborted, `trySend` found no room) leaves the item with its sender, uncounted.
 * An entered item that is refused while it waits (the flow stopped or was cut off by `Last`, or
 * the sender's signal withdrew it) is reported as `Dropped`, and its send says so.
 */
export class PushInput {
  /** Sends still waiting for room; the entry's input ends only once they have settled. */
  #waiting = 0;
  #endWhenSent = false;

  constructor(
    private readonly host: PushInputHost,
    private readonly entry: Outlet,
    /** Named in the drop of an item the entry refused. */
    private readonly owner: Stage,
    private readonly maxWaiting: number,
  ) {}

  send(value: unknown, signal: AbortSignal | undefined): SendResult | Promise<SendResult> {
    const refusal = this.host.refusal();
    if (refusal !== null) return { status: "refused", reason: refusal };
    if (signal?.aborted) return ABORTED;
    if (this.#waiting >= this.maxWaiting && !this.entry.hasRoom())
      throw new FlowConfigError(
        `PushHandle.send(): ${this.#waiting} sends already wait for room (option "maxWaitingSends" = ${this.maxWaiting}); await each send, or raise the limit`,
        { code: "ERR_FLOW_STATE", option: "maxWaitingSends" },
      );
    const id = this.host.admit();
    const item = this.host.outcomes.lineage.admit(id, value);
    const sent = this.entry.send(item, id, undefined, signal);
    if (sent === true) return QUEUED;
    this.#waiting++;
    return sent.then((accepted) => {
      let result = QUEUED;
      if (!accepted) {
        const reason: DropReason = signal?.aborted ? "WITHDRAWN" : this.host.refusalReason();
        this.owner.drop(item, id, reason);
        result = { status: "dropped", reason };
      }
      if (--this.#waiting === 0 && this.#endWhenSent) {
        this.#endWhenSent = false;
        this.entry.feederDone();
      }
      return result;
    });
  }

  trySend(value: unknown): SendResult {
    const refusal = this.host.refusal();
    if (refusal !== null) return { status: "refused", reason: refusal };
    if (!this.entry.hasRoom()) return FULL;
    // `hasRoom` said every channel on the way takes it at once.
    const id = this.host.admit();
    void this.entry.send(this.host.outcomes.lineage.admit(id, value), id);
    return QUEUED;
  }

  /**
   * The input ended. A send still in progress (say, a fan-out split half-way through its
   * branches) is part of it: closing the entry under it would let it put into a stage that
   * already finished.
   */
  close(): void {
    if (this.#waiting > 0) this.#endWhenSent = true;
    else this.entry.feederDone();
  }
}
