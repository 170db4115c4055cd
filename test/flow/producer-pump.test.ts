import { describe, expect, it } from "vitest";
import { Flow } from "../../src/index.js";

// An array source is read by index when its iteration is the built-in one: these pin down that
// it reads exactly what the array's iterator would.
describe("an array source", () => {
  it("yields every element in order, holes as undefined", async () => {
    const source: unknown[] = [1];
    source[2] = 3; // index 1 is a hole
    source[3] = undefined;
    source[4] = 5;
    const seen: unknown[] = [];
    await new Flow()
      .setProducer(source)
      .setConsumer((x: unknown) => void seen.push(x))
      .run();
    expect(seen).toEqual([1, undefined, 3, undefined, 5]);
  });

  it("is read through its own iterator when it has one", async () => {
    const source = [1, 2, 3];
    Object.defineProperty(source, Symbol.iterator, {
      value: function* () {
        yield 10;
        yield 20;
      },
    });
    const seen: number[] = [];
    await new Flow()
      .setProducer(source)
      .setConsumer((x: number) => void seen.push(x))
      .run();
    expect(seen).toEqual([10, 20]);
  });
});
