import { describe, expect, it } from "vitest";
import { Flow } from "../../src/index.js";
import { AdaptiveScaling } from "../../src/index.js";
import { range, runVirtual, sleep, VirtualClock } from "../helpers.js";

describe("AdaptiveScaling against an API that answers 429 with Retry-After past 50 calls", () => {
  // Seen on real timers first (scratch/api429.ts, MODE=secs): slow start overshoots to 64–128,
  // the first cut stops at overloadDecrease (128 → 64), and each later round counts only the
  // calls made in it — the workers refused earlier are waiting out their Retry-After of 1 s, not
  // calling — so the pool comes down a few workers a second (64 → 59 → 54 → 52), regrows one a
  // second toward the count that overloaded, and items refused four times in a row fail for good:
  // 4–13 of 12,000–20,000, where FixedScaling(50) fails none.
  it.each([20, 21, 22, 24])(
    "loses no item for good, as FixedScaling(50) does not (calls of %i ms)",
    async (ms) => {
      const clock = new VirtualClock();
      let inFlight = 0;
      let refused = 0;
      let refusedLate = 0;
      // Seeded retry jitter: the run replays exactly.
      let r = 7;
      const random = () => {
        r = (r * 1103515245 + 12345) % 2147483648;
        return r / 2147483648;
      };
      const f = new Flow({ clock, random, errorHandler: () => {} })
        .setProducer(range(12_000))
        .addTransformer(
          async (x: number) => {
            if (inFlight >= 50) {
              refused++;
              if (clock.now() > 3000) refusedLate++;
              await sleep(clock, 1);
              throw Object.assign(new Error("429"), { status: 429, headers: { "retry-after": "1" } });
            }
            inFlight++;
            try {
              await sleep(clock, ms);
              return x;
            } finally {
              inFlight--;
            }
          },
          {
            name: "api",
            queueSize: 64,
            retry: { attempts: 4 },
            scalingStrategy: new AdaptiveScaling({ maxWorkers: 200 }),
          },
        )
        .setConsumer(() => {});
      await runVirtual(f, clock);
      expect(f.stats().failed, `${refused} refused, ${refusedLate} of them after 3 s`).toBe(0);
      expect(refused).toBeGreaterThan(0);
    },
  );
});
