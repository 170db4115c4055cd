import { describeValue } from "../../internal/describe.js";
import type { BatchSettings } from "../../model/batch.js";
import { LastValue } from "../../model/item/last.js";
import { Skip } from "../../model/item/skip.js";
import { Slot } from "../outlet/reorder-buffer.js";
import { Entry, type StageSpec } from "../../plan/stage-spec.js";
import { Stage } from "./stage.js";
import type { StageRun } from "../stage-run.js";
import { RateLimitedWorker } from "./rate-limited-worker.js";
import { EXIT, WAIT } from "./stage-worker.js";
import { type PooledWorker, WorkerState } from "./worker-host.js";

/**
 * A stage whose workers take whole batches from its queue. The queue is the only buffer: a
 * worker takes a batch when `size` items are queued, when the oldest has waited `flushMs`, or
 * — partial — once the input has ended. One flush timer per stage, armed while items wait,
 * wakes an idle worker when a partial batch falls due; it is cleared when the stage finishes.
 */
export class BatchStage extends Stage {
  readonly batch: BatchSettings;
  #timer: unknown = null;

  constructor(spec: StageSpec, run: StageRun) {
    super(spec, run);
    this.batch = spec.batch!;
    this.input.setBatchSize(this.batch.size);
  }

  override createWorker(id: number): PooledWorker {
    return new BatchWorker(this, id);
  }

  override enqueued(): void {
    super.enqueued();
    if (this.#timer === null && this.batch.flushMs !== Number.POSITIVE_INFINITY)
      this.#arm(this.batch.flushMs);
  }

  /** Whether the oldest queued item has waited `flushMs`. */
  flushDue(): boolean {
    const oldest = this.input.queue.oldestStamp();
    return oldest !== null && this.run.cache.read() - oldest >= this.batch.flushMs;
  }

  protected override finished(): void {
    this.#disarm();
  }

  override shutInput(reason: Parameters<Stage["shutInput"]>[0]): void {
    this.#disarm();
    super.shutInput(reason);
  }

  // Not unref'd: while a partial batch waits, its flush may be the one thing left to do.
  #arm(ms: number): void {
    this.#timer = this.run.clock.setTimeout(this.#fire, ms);
  }

  #disarm(): void {
    if (this.#timer !== null) this.run.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  // A partial batch fell due: wake an idle worker for it (a busy one checks when it is free),
  // and re-arm for the next oldest item while any wait.
  readonly #fire = (): void => {
    this.#timer = null;
    if (this.done || this.input.shut) return;
    const oldest = this.input.queue.oldestStamp();
    if (oldest === null) return;
    const wait = oldest + this.batch.flushMs - this.run.cache.read();
    if (wait <= 0) this.input.wakeTaker();
    this.#arm(wait > 0 ? wait : this.batch.flushMs);
  };
}

const NO_ENTRIES: readonly unknown[] = [];
const NO_IDS: readonly number[] = [];

/** A batch stage's worker: one call per batch, one result per item. */
// A batch stage may have a rate limit (a call takes one token): its worker can wait for one, so it
// is a RateLimitedWorker; it checks `stage.limiter` itself, once a batch.
export class BatchWorker extends RateLimitedWorker {
  declare readonly stage: BatchStage;
  #entries: readonly unknown[] = NO_ENTRIES;
  #args: readonly unknown[] = NO_ENTRIES;

  protected override takeAndCall(): unknown {
    if (this.retiring) return EXIT;
    const stage = this.stage;
    if (stage.run.cache.t >= stage.run.yieldAt) {
      stage.run.awaitTurn(this);
      return WAIT;
    }
    const input = stage.input;
    const queue = input.queue;
    const n = queue.length;
    const size = stage.batch.size;
    if (n > 0 && (n >= size || input.closed || stage.flushDue())) {
      if (this.state !== WorkerState.Busy) stage.setState(this, WorkerState.Busy);
      if (stage.reorder !== null) this.seq = stage.reorder.take();
      // Each take may let a waiting writer in, and that enqueue may start a worker that takes
      // from this same queue at once: the length is read afresh on every take.
      const entries: unknown[] = [input.take()];
      const stamp = queue.takenStamp;
      const ids: number[] = [queue.takenId];
      while (entries.length < size && queue.length > 0) {
        entries.push(input.take());
        ids.push(queue.takenId);
      }
      stage.metrics.batches++;
      this.begin(stamp, true);
      this.#entries = entries;
      this.ctx.id = ids[0]!;
      this.ctx.ids = ids;
      const args = stage.entryKind === Entry.Plain ? entries : entries.map((e) => this.branchArg(e));
      this.#args = args;
      if (stage.limiter !== null && this.mustWaitForToken()) return WAIT;
      return this.invoke(args);
    }
    if (this.state !== WorkerState.Idle) stage.setState(this, WorkerState.Idle);
    return input.wait(this) ? WAIT : EXIT;
  }

  // Woken with READY, which is no item: the batch takes its sequence number when it is taken.
  protected override received(): void {
    this.stage.setState(this, WorkerState.Busy);
  }

  // Woken with READY (a batch is there, due, or the input ended): look again; or woken for the
  // rate-limit token of the batch in hand.
  protected override callWaited(): unknown {
    return this.limited ? this.callWithToken() : this.takeAndCall();
  }

  override argInHand(): unknown {
    return this.#args;
  }

  override idsInHand(): readonly number[] {
    return this.ctx.ids ?? NO_IDS;
  }

  protected override dropInHand(): boolean {
    const entries = this.#entries;
    const ids = this.idsInHand();
    this.#entries = NO_ENTRIES;
    this.#args = NO_ENTRIES;
    for (let i = 0; i < entries.length; i++) this.stage.drop(entries[i], ids[i]!, "STOPPED");
    return entries.length > 0;
  }

  override handOn(out: unknown): undefined | Promise<void> {
    if (this.abandoned) return undefined;
    const stage = this.stage;
    const entries = this.#entries;
    const ids = this.idsInHand();
    this.#entries = NO_ENTRIES;
    this.#args = NO_ENTRIES;
    const k = entries.length;
    const results = Array.isArray(out) && out.length === k ? (out as readonly unknown[]) : null;
    if (results === null && !stage.terminal)
      return this.#failAll(
        entries,
        ids,
        new TypeError(
          `batch stage "${stage.name}" returned ${describeValue(out)} for ${k} items; expected an array of ${k} results, one per item`,
        ),
      );
    this.booked(k);
    if (stage.reorder !== null) {
      const values: unknown[] = [];
      const kept: number[] = [];
      for (let i = 0; i < k; i++) {
        const r = results === null ? undefined : results[i];
        const entry = entries[i];
        const id = ids[i]!;
        // A skipped item ends now: it holds no place in the output order.
        if (r === Skip) stage.skipped(entry, id);
        else if (!(r instanceof LastValue)) values.push(stage.output(entry, r));
        else {
          stage.run.lastReturned(stage);
          if (r.value !== Skip) values.push(new LastValue(stage.output(entry, r.value)));
          else {
            stage.skipped(entry, id); // `Last(Skip)`: the output ends here, with nothing for this item
            values.push(r);
          }
        }
        if (r !== Skip) kept.push(id);
      }
      return stage.reorder.complete(this, this.seq, Slot.Many, values, kept, ids[0]!);
    }
    return this.#sendAll(entries, ids, results);
  }

  async #sendAll(
    entries: readonly unknown[],
    ids: readonly number[],
    results: readonly unknown[] | null,
  ): Promise<void> {
    const stage = this.stage;
    for (let i = 0; i < entries.length; i++) {
      const r = results === null ? undefined : results[i];
      if (r === Skip) {
        stage.skipped(entries[i], ids[i]!);
        continue;
      }
      const pending =
        r instanceof LastValue
          ? this.last(entries[i], ids[i]!, r.value)
          : this.sendTo(stage.outlet, stage.output(entries[i], r), undefined, ids[i]!);
      if (pending !== undefined) await pending;
    }
  }

  override failFinal(error: unknown): Promise<void> {
    const entries = this.#entries;
    this.#entries = NO_ENTRIES;
    this.#args = NO_ENTRIES;
    return this.#failAll(entries, this.idsInHand(), error);
  }

  // A failed batch reports each of its items; its reorder slot becomes a hole once.
  async #failAll(entries: readonly unknown[], ids: readonly number[], error: unknown): Promise<void> {
    const stage = this.stage;
    const attempts = this.endAttempts();
    for (let i = 0; i < entries.length; i++) await stage.failed(entries[i], ids[i]!, error, attempts);
    const r = stage.reorder?.complete(this, this.seq, Slot.Hole, undefined, undefined, ids[0] ?? 0);
    if (r !== undefined) await r;
  }
}
