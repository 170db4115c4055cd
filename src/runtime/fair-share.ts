/**
 * How long a flow keeps the event loop to itself. Items that never wait — a synchronous source,
 * synchronous stages, downstream always with room — would otherwise run as one long stretch of
 * microtasks, starving timers, I/O and signals (`stop()` could not even be called) until the run
 * ends. Every loop of the flow (the producer's, each worker's) checks a shared deadline and, past
 * it, waits for one macrotask (`setImmediate`), as Node's streams do.
 */

/** The longest stretch, in ms, before the event loop gets a turn. */
export const FAIR_SHARE_MS = 10;

/** The producer gives the event loop a turn at least every this many items, however fast they are. */
export const FAIR_SHARE_ITEMS = 1024;
