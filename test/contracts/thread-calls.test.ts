import { callSiteContract } from "./call-site.contract.js";
import { ThreadCalls } from "./prototype/thread-calls.js";

// The suite's functions close over nothing, so a thread can run them from their source text.
callSiteContract(
  "in worker threads (prototype)",
  (def, pool) =>
    new ThreadCalls(
      { fn: def.fn.toString(), setup: def.setup?.toString(), close: def.close?.toString() },
      pool,
    ),
);
