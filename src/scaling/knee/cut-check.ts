import { SOFT_LOSS } from "./knee-estimate.js";

/** A cut the knee guard checks once its count is measured (see `KneeGuard.limit`). */
export class CutCheck {
  /** The cut's count (-1: nothing to check). */
  n = -1;
  /** The throughput before the cut, per second. */
  x = 0;
  /** The count to go back to if the cut lost throughput. */
  back = 0;
  /** The share of `x` the cut may lose. */
  loss = SOFT_LOSS;
  /** The unloaded call time slow start measured for the cut (ms; 0: none). */
  s = 0;
  /** The CV of the calls that time came from (-1: not known; the calls' CV at the cut stands in). */
  cv = -1;
  /** The noise a loss must exceed, in windows' noises: one where the throughput before came from one long window. */
  noises = 2;
  /** Whether the throughput before was read by N / S (a trim): the check then reads it the same way. */
  little = false;
  /** A go-back to a slow-start round's count to check: that count, the cut, its throughput and noise. */
  verify: [back: number, cut: number, x: number, noise: number] | null = null;
  /** A slow-start cut whose calls ran unloaded, released to probes (-1: none). */
  released = -1;

  /** A cut to `knee` from `back` workers that gave `fromX`/s (nothing to check unless it cut). */
  set(
    knee: number,
    fromX: number,
    back: number,
    loss: number,
    noises = 2,
    little = false,
    s = 0,
    cv = -1,
  ): void {
    this.n = fromX > 0 && back > knee ? knee : -1;
    this.x = fromX;
    this.back = back;
    this.loss = loss;
    this.noises = noises;
    this.little = little;
    this.s = s;
    this.cv = cv;
  }
}
