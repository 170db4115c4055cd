/**
 * Exact explicit-bucket counts of timing samples, for an exporter whose histogram can be written
 * from counts (Prometheus): adding a sample is a short scan and two increments, where prom-client's
 * `observe` hashes the labels on every call (about 0.7 µs, more than a whole item's hand-off).
 * Samples arrive in milliseconds and are kept in seconds; a negative one (clock skew) counts as 0,
 * as the flow's own histograms read it.
 */
export class TimingBuckets {
  /** Samples per bucket, not cumulative: `counts[i]` holds those ≤ `bounds[i]` and above the bound before; the last slot, those above every bound. */
  readonly counts: Float64Array;
  /** The sum of the samples, in seconds. */
  sum = 0;
  /** How many samples were added. */
  count = 0;

  /** `bounds`: upper bounds in seconds, strictly increasing. */
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Adds the first `n` samples of `samplesMs`. */
  add(samplesMs: Float64Array, n: number): void {
    const bounds = this.bounds;
    const last = bounds.length;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const s = Math.max(0, samplesMs[i]!) / 1000;
      // Short calls are the common case, so a scan from the bottom ends early.
      let b = 0;
      while (b < last && s > bounds[b]!) b++;
      this.counts[b]!++;
      sum += s;
    }
    this.sum += sum;
    this.count += n;
  }
}
