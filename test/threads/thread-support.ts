import { vi } from "vitest";
import type { Flow, TransformerError } from "../../src/index.js";
import { CHANNEL } from "../fixtures/threads/modes.worker.js";

export { CHANNEL };
/** The worker module whose calls do what each item's `mode` says. */
export const MODES = new URL("../fixtures/threads/modes.worker.ts", import.meta.url);

/**
 * Runs `f` to its end and collects what came out, the items' errors, what the threads' setup and
 * close reported over {@link CHANNEL}, and the faults the flow logged.
 */
export async function collect<T>(f: Flow<any, T>) {
  const out: T[] = [];
  const errors: TransformerError[] = [];
  const heard: string[] = [];
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (e) => heard.push(String((e as MessageEvent).data));
  const faults: string[] = [];
  const log = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    faults.push(args.map(String).join(" "));
  });
  f.setErrorHandler((e) => {
    if ("stage" in e && "attempt" in e) errors.push(e as TransformerError);
  });
  try {
    for await (const x of f.stream()) out.push(x);
    // Messages from another thread arrive a macrotask or more later.
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    log.mockRestore();
    channel.close();
  }
  return {
    out,
    errors,
    faults,
    setups: heard.filter((m) => m.startsWith("setup")),
    closes: heard.filter((m) => m.startsWith("close")),
  };
}
