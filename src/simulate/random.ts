/** A seeded generator of uniform numbers in [0, 1) (mulberry32): the same seed, the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An exponential draw with the given mean. */
export function exponential(random: () => number, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

/** A lognormal draw with the given mean and coefficient of variation. */
export function lognormal(random: () => number, mean: number, cv: number): number {
  const sigma2 = Math.log(1 + cv * cv);
  const mu = Math.log(mean) - sigma2 / 2;
  const u1 = 1 - random();
  const u2 = random();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.exp(mu + Math.sqrt(sigma2) * z);
}

/**
 * A Pareto (type I) draw with the given mean and coefficient of variation: shape
 * α = 1 + √(1 + 1/cv²) (always > 2, so the mean and variance are finite), scale from the mean.
 * Heavier in the far tail than a lognormal of the same CV.
 */
export function pareto(random: () => number, mean: number, cv: number): number {
  if (cv === 0) return mean;
  const alpha = 1 + Math.sqrt(1 + 1 / (cv * cv));
  const scale = (mean * (alpha - 1)) / alpha;
  return scale / (1 - random()) ** (1 / alpha);
}
