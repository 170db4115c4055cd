/** Counts measured under a backlog that the knee estimate may draw on. */
const HISTORY = 16;

/**
 * The counts the knee guard measured under the current backlog, each with its throughput, kept
 * for `holdMs`: where the knee is (the fewest workers that gave nearly the best), and whether
 * steps that each passed fell short as one.
 */
export class KneeHistory {
  readonly #h: [workers: number, x: number, at: number][] = [];
  /** The count remembered last (-1: none): each count is remembered once per visit. */
  last = -1;

  constructor(readonly holdMs: number) {}

  clear(): void {
    this.#h.length = 0;
    this.last = -1;
  }

  remember(n: number, x: number, now: number): void {
    this.last = n;
    const h = this.#h;
    while (h.length > 0 && now - h[0]![2] > this.holdMs) h.shift();
    h.push([n, x, now]);
    if (h.length > HISTORY) h.shift();
  }

  /** Whether growth over steps that each passed (a noisy reading passes one now and then) fell short
   * as one step: half again as many workers as a count measured under this backlog show η's gain. */
  shortSince(n: number, x: number, noise: number, eta: number): boolean {
    for (const [ni, xi] of this.#h) if (1.5 * ni <= n && x / xi - 1 + noise < eta * (n / ni - 1)) return true;
    return false;
  }

  /** The fewest workers measured to deliver (nearly) the best throughput seen — `x` now, `x0` at `n0` — the knee. */
  knee(x: number, n0: number, x0: number): number {
    const h = this.#h;
    let best = Math.max(x, x0);
    for (const [, xi] of h) if (xi > best) best = xi;
    let knee = x0 >= 0.95 * best ? n0 : Number.POSITIVE_INFINITY;
    for (const [ni, xi] of h) if (xi >= 0.95 * best && ni < knee) knee = ni;
    return knee === Number.POSITIVE_INFINITY ? n0 : knee;
  }
}
