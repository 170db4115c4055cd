// The lean bound of a 3-stage bounded pipeline: what the architecture flowrhythm runs (a producer
// loop, a pool of worker loops per stage, a bounded queue in front of each stage) costs when
// written by hand with plain arrays and nothing else — no stats, no scaling, no outcomes, no
// ordering, no stop. A reference for the throughput bench and the instruction count, not a
// contender a user would pick. Plain JavaScript, so that the instruction count can run it under
// valgrind with nothing but node.

/** What a wait resolves with once the channel is closed and empty. */
const END = Symbol("end");

/** A bounded FIFO between two stages: takers wait while it is empty, writers while it is full. */
class LeanChannel {
  constructor(capacity) {
    this.capacity = capacity;
    this.items = [];
    this.head = 0;
    this.takers = [];
    this.writers = [];
    this.closed = false;
  }

  get length() {
    return this.items.length - this.head;
  }

  /** Hands `item` to a waiting taker or queues it; false when full. */
  offer(item) {
    if (this.takers.length > 0) {
      this.takers.pop()(item);
      return true;
    }
    if (this.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /** Waits for room, after `offer` refused. */
  put(item) {
    return new Promise((resolve) => this.writers.push({ item, resolve }));
  }

  /** Removes the head item (the caller checked `length`) and lets one waiting writer in. */
  take() {
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.writers.length > 0) {
      const w = this.writers.shift();
      this.items.push(w.item);
      w.resolve();
    }
    return item;
  }

  /** Resolves with the next item, or `END` once the channel is closed and empty. */
  wait() {
    if (this.closed) return Promise.resolve(END);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  close() {
    this.closed = true;
    if (this.length === 0) for (const t of this.takers.splice(0)) t(END);
  }
}

/**
 * Runs `source` through `fns` (the last one is the sink), `workers` loops per stage, each stage's
 * input bounded to `capacity`; resolves once every item went through.
 */
export async function leanPipeline(source, fns, workers, capacity) {
  const inputs = fns.map(() => new LeanChannel(capacity));
  const stages = fns.map((fn, s) => {
    const input = inputs[s];
    const next = inputs[s + 1];
    const loop = async () => {
      for (;;) {
        let item;
        if (input.length > 0) item = input.take();
        else {
          item = await input.wait();
          if (item === END) return;
        }
        const out = await fn(item);
        if (next !== undefined && !next.offer(out)) await next.put(out);
      }
    };
    const pool = Array.from({ length: workers }, loop);
    return Promise.all(pool).then(() => next?.close());
  });
  const first = inputs[0];
  for (const item of source) if (!first.offer(item)) await first.put(item);
  first.close();
  await Promise.all(stages);
}
