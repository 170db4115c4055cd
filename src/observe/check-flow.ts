import { FlowConfigError } from "../errors.js";
import { Flow } from "../flow/flow.js";
import { describeValue } from "../internal/describe.js";

/** Refuses anything but a `Flow` for `where`'s `flow` argument, naming what it got. */
export function checkFlow(where: string, flow: unknown): asserts flow is Flow<any, any> {
  if (!(flow instanceof Flow))
    throw new FlowConfigError(
      `${where}: flow = ${describeValue(flow)}: expected a Flow (new Flow(...) or flow(...))`,
      { option: "flow" },
    );
}
