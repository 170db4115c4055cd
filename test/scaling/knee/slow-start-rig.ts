import { SlowStart, SlowStartMove } from "../../../src/scaling/knee/slow-start.js";
import { type MutableStats, mutableStats } from "../policy/wish-strategy.js";

const { Off, Grow, Cut, Recheck } = SlowStartMove;

/**
 * Slow start over a hand-made stage whose source is blocked on a full queue, stepped every
 * millisecond: `rate(n)` completions a second, each call taking `callMs(n)`. A `Grow`, `Recheck` or
 * `Cut` is applied at once. Records every move that is not `Hold`, with the time and the target.
 */
export class Rig {
  readonly ss = new SlowStart();
  readonly st: MutableStats = mutableStats({ queueLength: 64, queueCapacity: 64 });
  now = 0;
  n = 1;
  max = 256;
  held = false;
  baseS = 0;
  s = 10;
  apply = true;
  rate: (n: number) => number = (n) => n * 100;
  callMs: (n: number) => number = () => 10;
  /** The planning mean the stats report, when it is not the call time (a mean that lags). */
  planMs: number | null = null;
  /** Whether the stage times its items (timedItems and timedMs move), and what share of them. */
  timing = true;
  timedShare = 1;
  /** The calls' coefficient of variation (their squares sum to done · callMs² · (1 + cv²)). */
  cv = 0;
  readonly moves: [t: number, move: SlowStartMove, target: number][] = [];

  /** One step at the current time; returns the move. */
  step(): SlowStartMove {
    this.st.now = this.now;
    this.st.processingTimeMs = this.planMs ?? this.callMs(this.n);
    const move = this.ss.step(this.st, this.n, this.s, this.max, this.held, this.baseS);
    if (move === Grow || move === Cut || move === Recheck) {
      this.moves.push([this.now, move, this.ss.target]);
      if (this.apply) this.n = this.ss.target;
    } else if (move === Off) this.moves.push([this.now, move, this.n]);
    return move;
  }

  run(ms: number): SlowStartMove {
    const end = this.now + ms;
    let move = this.step();
    while (this.now < end) {
      this.now += 1;
      const done = this.rate(this.n) / 1000;
      this.st.processed += done;
      if (this.timing) {
        this.st.timedItems += done * this.timedShare;
        this.st.timedMs += done * this.timedShare * this.callMs(this.n);
        this.st.timedMsSquared += done * this.timedShare * this.callMs(this.n) ** 2 * (1 + this.cv ** 2);
      }
      move = this.step();
    }
    return move;
  }

  /** The moves that changed the count. */
  get changes(): [number, SlowStartMove, number][] {
    return this.moves.filter(([, m]) => m !== Off);
  }
}
