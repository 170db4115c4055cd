import { systemClock } from "../clock/clock.js";
import { TIMED_OUT, within } from "../clock/within.js";
import { Deferred } from "../internal/deferred.js";
import { whenAborted } from "../internal/shared-listener.js";
import type { Flow } from "../flow/flow.js";
import type { Source } from "../model/types.js";
import type { FlowStats } from "../stats/stage-stats.js";
import { bounded, type Ledger, type OutcomeKind } from "./ledger.js";

/**
 * How often the feeder reads the run's counts and state while it goes on (for `stats()`, and to
 * see a `Last` in a remote stage); its end is told at once (published with the last outcome).
 */
const READ_MS = 500;
/** After `stop()`, how long the feeder waits for the servers to report the items they drop. */
const STOP_WAIT_MS = 1_000;
const STOPPED_FIRST = Symbol("stopped first");

/** How often the feeder tells Redis its run is alive (the keys' expiry is pushed on). */
const TOUCH_MS = 5_000;

/**
 * One run fed from this process: the first segment's flow (the source and the stages before the
 * first remote stage), and the run's ledger, which every process writes outcomes to. The run ends
 * when the ledger has an outcome for every item the first segment took in.
 */
export class FeederRun {
  readonly flow: Flow<unknown, unknown>;
  #stopped = false;
  /** A call to Redis on the way out went unanswered. */
  #redisGone = false;
  /** After a stop with Redis gone: items whose outcome no process could record (dropped here). */
  #unrecorded = 0;
  /** A `Last(...)` in a remote stage cut the run: the source is done, what is here is dropped. */
  #cut = false;
  #counts: Record<string, number> = {};
  readonly #pending = new Set<Promise<unknown>>();
  readonly #ended = new Deferred<void>();
  /** The run has ended everywhere. */
  #over = false;
  #draining = false;
  readonly #stopping = new Deferred<void>();

  constructor(
    readonly runId: string,
    private readonly ledger: Ledger,
    private readonly keepSeconds: number,
    make: (runId: string) => Flow<unknown, unknown>,
  ) {
    this.flow = make(runId);
    const record = (id: number, kind: OutcomeKind, field: string = kind) => {
      const p = ledger
        .record(runId, id, kind, field)
        .catch((error) => console.error(`[flowrhythm] recording item ${id}'s outcome failed:`, error));
      this.#pending.add(p);
      void p.finally(() => this.#pending.delete(p));
    };
    this.flow.on("itemError", (e) => record(e.id, "failed"));
    this.flow.on("drop", (e) =>
      record(
        e.id,
        "dropped",
        `dropped:${this.#cut && e.reason === "STOPPED" ? "UPSTREAM_TERMINATED" : e.reason}`,
      ),
    );
    this.flow.on("skip", (e) => record(e.id, "skipped"));
    this.flow.on("expand", (e) => record(e.id, "expanded"));
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  async run(
    source: Source<unknown>,
    options: { signal?: AbortSignal | undefined; total?: number | undefined },
  ): Promise<void> {
    const { ledger, runId, keepSeconds } = this;
    const off = whenAborted(options.signal, () => void this.stop());
    await this.#whileRunning(ledger.setState(runId, "running", keepSeconds), undefined);
    const touch = setInterval(() => void ledger.touch(runId, keepSeconds).catch(() => {}), TOUCH_MS);
    touch.unref();
    const watch = setInterval(() => void this.#watch(), READ_MS);
    watch.unref();
    try {
      // stop() before the run began (an aborted signal): no item is taken.
      if (!this.#stopped)
        await this.flow.run(source, options.total === undefined ? {} : { total: options.total });
      // Outcomes this segment is still writing; given up on a while after a stop (Redis gone).
      while (
        this.#pending.size > 0 &&
        !(this.#stopped && !(await this.#onExit(Promise.all([...this.#pending]))))
      )
        await this.#whileRunning(Promise.all([...this.#pending]), undefined);
      const local = this.flow.stats();
      const last = local.itemsIn + local.children;
      let wake: (() => void) | null = null;
      const unlisten = ledger.onEnd(runId, () => wake?.());
      try {
        let deadline: number | null = null;
        let done = await this.#whileRunning(ledger.expect(runId, last), 0);
        while (done < last) {
          if (this.#stopped) {
            deadline ??= Date.now() + STOP_WAIT_MS;
            if (Date.now() >= deadline && !(await this.#onExit(this.#dropMissing(last)))) {
              // Redis does not answer: what no process reported is dropped here, unrecorded.
              this.#unrecorded = last - done;
              break;
            }
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, this.#stopped ? 100 : READ_MS);
          });
          wake = null;
          const counts = await this.#whileRunning(ledger.counts(runId), null);
          if (counts !== null) this.#counts = counts;
          done = this.#counts.done ?? 0;
        }
      } finally {
        unlisten();
      }
      const wrapUp = async () => {
        this.#counts = await ledger.counts(runId);
        const [state] = await ledger.states([runId]);
        if (state?.startsWith("last:") === true) this.#cut = true;
        await ledger.setState(runId, this.#stopped ? "stopped" : "ended", keepSeconds);
        await ledger.touch(runId, keepSeconds);
      };
      if (this.#unrecorded > 0 || this.#redisGone) await this.#onExit(wrapUp());
      else await wrapUp();
    } finally {
      clearInterval(touch);
      clearInterval(watch);
      off();
      this.#over = true;
      this.#ended.resolve();
    }
  }

  /** Takes no more items from the source; resolves once the run has ended everywhere. */
  async drain(): Promise<void> {
    this.#draining = true;
    await this.flow.drain();
    await this.#ended.promise;
  }

  /** Stops the run everywhere: servers drop what they hold of it and what is queued, reported. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#stopping.resolve();
      await Promise.all([
        this.#onExit(this.ledger.setState(this.runId, "stopped", this.keepSeconds)),
        this.flow.stop(),
      ]);
    }
    await this.#ended.promise;
  }

  // A call to Redis after a stop: given up on after a while; once one was, Redis is taken to be
  // gone and later ones are not waited for at all (so that stop() stays prompt).
  async #onExit(call: PromiseLike<unknown>): Promise<boolean> {
    if (this.#redisGone) return false;
    const ok = await bounded(call);
    if (!ok) this.#redisGone = true;
    return ok;
  }

  // A read of the run's counts: waited for while the run goes on (Redis may come back); once it is
  // stopped, given up on after a while so that stop() stays prompt (`fallback` then).
  async #whileRunning<T>(read: Promise<T>, fallback: T): Promise<T> {
    if (!this.#stopped) {
      const first = await Promise.race([read, this.#stopping.promise.then(() => STOPPED_FIRST)]);
      if (first !== STOPPED_FIRST) return first as T;
    }
    try {
      const r = await within(systemClock, read, STOP_WAIT_MS);
      return r === TIMED_OUT ? fallback : r;
    } catch {
      return fallback;
    }
  }

  // A Last(...) returned in a remote stage: no more items from the source, and what is still in
  // this segment (all upstream of that stage) is dropped, as a Last drops what is upstream of it.
  async #watch(): Promise<void> {
    this.#counts = await this.ledger.counts(this.runId).catch(() => this.#counts);
    if (this.#cut || this.#stopped) return;
    const read = await this.ledger.states([this.runId]).catch(() => undefined);
    if (read === undefined) return;
    const [state] = read;
    if (state === null && !this.#stopped) {
      // Redis lost the run (restarted without persistence, or its keys were deleted): what was
      // queued there is gone, so the run is stopped, and every item without an outcome dropped.
      console.error(`[flowrhythm] run ${this.runId}'s keys are gone from Redis; stopping the run`);
      void this.stop();
      return;
    }
    if (state?.startsWith("last:") !== true || this.#cut) return;
    this.#cut = true;
    await this.flow.stop();
  }

  // Items no server reported after a stop (their servers died or left): dropped here, once.
  async #dropMissing(last: number): Promise<void> {
    const codes = await this.ledger.outcomes(this.runId, last);
    for (let id = 1; id <= last; id++)
      if (codes[id] === 0) await this.ledger.record(this.runId, id, "dropped", "dropped:STOPPED");
  }

  /** The run's counts, wherever its items ended; the first segment's own figures for the rest. */
  stats(): FlowStats {
    const s = this.flow.stats();
    const c = this.#counts;
    const droppedByReason: Record<string, number> = {};
    let dropped = 0;
    for (const [k, v] of Object.entries(c))
      if (k.startsWith("dropped:")) {
        droppedByReason[k.slice(8)] = v;
        dropped += v;
      }
    if (this.#unrecorded > 0) {
      droppedByReason.STOPPED = (droppedByReason.STOPPED ?? 0) + this.#unrecorded;
      dropped += this.#unrecorded;
    }
    const consumed = c.consumed ?? 0;
    const failed = c.failed ?? 0;
    const skipped = c.skipped ?? 0;
    const expanded = c.expanded ?? 0;
    return Object.freeze({
      ...s,
      ...(this.#cut ? { endedBy: "last" as const } : {}),
      // The run's state, not the first segment's: it goes on while items are out elsewhere.
      state: !this.#over
        ? this.#stopped
          ? ("stopping" as const)
          : this.#draining
            ? ("draining" as const)
            : ("running" as const)
        : this.#stopped && !this.#cut
          ? ("stopped" as const)
          : ("drained" as const),
      consumed,
      failed,
      dropped,
      droppedByReason: Object.freeze(droppedByReason),
      skipped,
      expanded,
      inFlight: s.itemsIn + s.children - consumed - failed - dropped - skipped - expanded,
    });
  }
}
