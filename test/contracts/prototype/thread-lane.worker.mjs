// The thread side of a lane: compiles the stage's function (and optional setup/close) from source,
// runs setup once, then answers calls; an abort message aborts the call's own signal here.
import { parentPort, workerData } from "node:worker_threads";

// The prototype ships functions as source text (a real pool would load a module by URL instead).
// biome-ignore lint/security/noGlobalEval: compiles the stage's own code, sent by the test
const indirectEval = eval;
const compile = (src) => (src ? indirectEval(`(${src})`) : undefined);
const { info } = workerData;
let fn;
let setup;
let close;
const running = new Map();
// The worker's scratch space lives in its thread, for as long as the thread does.
const data = {};

/**
 * An error as plain data: structured clone keeps only the message and stack of an Error (the
 * name only for the built-in ones), drops own properties such as `status` or `retryAfterMs`, and
 * turns a DOMException into `{}`.
 */
function encodeError(e, depth = 0) {
  if (typeof e !== "object" || e === null || depth > 3) return { thrown: e };
  const out = { name: e.name, message: e.message, stack: e.stack, props: {} };
  for (const k of Object.keys(e)) {
    if (k === "cause") continue;
    try {
      out.props[k] = structuredClone(e[k]);
    } catch {}
  }
  if (e.cause !== undefined) out.cause = encodeError(e.cause, depth + 1);
  return out;
}

const post = (m) => parentPort.postMessage(m);

parentPort.on("message", async (m) => {
  if (m.type === "call") {
    const ac = new AbortController();
    running.set(m.id, ac);
    try {
      const value = await fn(m.item, { ...m.ctx, worker: { id: info.id, data }, signal: ac.signal });
      try {
        post({ type: "result", id: m.id, value });
      } catch (error) {
        post({ type: "error", id: m.id, error: encodeError(error) });
      }
    } catch (error) {
      post({ type: "error", id: m.id, error: encodeError(error) });
    } finally {
      running.delete(m.id);
    }
  } else if (m.type === "abort") {
    running.get(m.id)?.abort(m.reason);
  } else if (m.type === "close") {
    try {
      await close?.(info);
      post({ type: "closed" });
    } catch (error) {
      post({ type: "closeFailed", error: encodeError(error) });
    }
  }
});

try {
  fn = compile(workerData.fn);
  setup = compile(workerData.setup);
  close = compile(workerData.close);
  await setup?.(info);
  post({ type: "ready" });
} catch (error) {
  post({ type: "setupFailed", error: encodeError(error) });
}
