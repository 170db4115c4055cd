/** A worker's identity and its private scratch space, stable for the worker's life. */
export interface WorkerInfo {
  /** Unique within the stage, counting from 1. */
  readonly id: number;
  /** Free for the stage's function to keep per-worker state in. */
  readonly data: Record<string, unknown>;
}

/**
 * What a stage's function is handed beside the item. One object per worker, reused from item
 * to item: read it during the call, do not keep it.
 */
export interface StageContext {
  /**
   * Aborts when the flow is stopped, and with `timeoutMs` when the attempt's deadline passes (the
   * reason is then a `TimeoutError`); pass it to `fetch` and friends.
   */
  readonly signal: AbortSignal;
  /** 1 on the first try, 2 on the first retry, and so on. */
  readonly attempt: number;
  /** The stage's name. */
  readonly stage: string;
  /** The worker running the call. */
  readonly worker: WorkerInfo;
  /**
   * The item's id: a number unique within the run, the same in every stage the item passes (a
   * fan-out's branches and merge included) and on every outcome reported for it. A `flatMap`'s
   * children get ids of their own. A batch stage's: the first item's (`ids` has them all).
   */
  readonly id: number;
  /** The id of the item a `flatMap` made this one from; `undefined` for an item from the producer. */
  readonly parentId: number | undefined;
  /** A batch stage's: the ids of the batch's items, in order; `undefined` elsewhere. */
  readonly ids: readonly number[] | undefined;
  /** The run's id (a UUID drawn at `start()`): with `id`, names the item across runs and logs. */
  readonly runId: string;
}

/** A stage's function: takes an item, returns (or resolves to) the next stage's item. */
export type Transformer<In, Out> = (item: In, ctx: StageContext) => Out | PromiseLike<Out>;

/** The last stage's function; its return value is dropped. */
export type Consumer<In> = (item: In, ctx: StageContext) => unknown;

/** What a producer function is called with. */
export interface SourceContext {
  /**
   * Aborts when the flow stops taking input: `drain()`, `stop()`, a stage's `Last(...)`, a
   * signal under `handleSignals`. A source that waits for its next item (a broker consumer, a
   * socket) should stop waiting and end, so that a drain need not wait for one more item.
   */
  readonly signal: AbortSignal;
}

/**
 * Items for a flow: an async iterable, an iterable, or a function returning one (called once per
 * run, with a {@link SourceContext}; a function is what lets a flow run again).
 */
export type Source<T> =
  | AsyncIterable<T>
  | Iterable<T>
  | ((ctx: SourceContext) => AsyncIterable<T> | Iterable<T>);

/** A per-worker resource: `process` handles items, `close` runs once when the worker stops. */
export interface WorkerResource<In, Out> {
  /** Handles one item, as a stage function would. */
  process(item: In, ctx: StageContext): Out | PromiseLike<Out>;
  /** Releases the resource; runs once when the worker leaves, bounded by `closeTimeoutMs`. */
  close?(): void | PromiseLike<void>;
}
