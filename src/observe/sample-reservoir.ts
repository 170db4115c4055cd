/**
 * A uniform sample of at most `capacity` timing samples (reservoir sampling, Algorithm R), kept
 * between two collections, for an exporter whose histogram takes one call per value
 * (OpenTelemetry's `Histogram.record` hashes its attributes each time: about 2 µs). It bounds
 * what the histograms cost per collection, however many calls are timed; below the bound every
 * sample is kept. Samples arrive in milliseconds and leave in seconds; a negative one (clock
 * skew) leaves as 0, as the flow's own histograms read it.
 */
export class SampleReservoir {
  readonly #kept: Float64Array;
  #size = 0;
  /** Samples offered since the last drain. */
  #seen = 0;

  constructor(
    capacity: number,
    private readonly random: () => number = Math.random,
  ) {
    this.#kept = new Float64Array(capacity);
  }

  /** Offers the first `n` samples of `samplesMs`. */
  add(samplesMs: Float64Array, n: number): void {
    const kept = this.#kept;
    const capacity = kept.length;
    for (let i = 0; i < n; i++) {
      const seen = ++this.#seen;
      if (this.#size < capacity) kept[this.#size++] = samplesMs[i]!;
      else {
        // Keeps the new sample with probability capacity / seen, in a uniformly chosen slot.
        const j = Math.floor(this.random() * seen);
        if (j < capacity) kept[j] = samplesMs[i]!;
      }
    }
  }

  /** Hands every kept sample, in seconds, to `take`, and starts the next sample empty. */
  drain(take: (seconds: number) => void): void {
    const kept = this.#kept;
    const size = this.#size;
    this.#size = 0;
    this.#seen = 0;
    for (let i = 0; i < size; i++) take(Math.max(0, kept[i]!) / 1000);
  }
}
