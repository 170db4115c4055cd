/**
 * Thrown at the boundary when an option, a stage or a call is not what flowrhythm expects.
 * The message names where (the stage or the call), the option, the value it got and what was
 * expected; `cause` keeps the validator's own error when there is one.
 *
 * @example
 * ```ts
 * try { new UtilizationScaling({ maxWorkers: 0 }); }
 * catch (e) { if (e instanceof FlowConfigError) console.log(e.code, e.option); }
 * ```
 */
export class FlowConfigError extends Error {
  /** Always `"FlowConfigError"`. */
  override readonly name = "FlowConfigError";
  /** Stable machine-readable code. */
  readonly code: FlowConfigErrorCode;
  /** The option at fault, as a dotted path, when there is one. */
  readonly option: string | undefined;

  constructor(
    message: string,
    options: { code?: FlowConfigErrorCode; option?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? "ERR_FLOW_CONFIG";
    this.option = options.option;
  }
}

/** The codes a {@link FlowConfigError} carries. */
export type FlowConfigErrorCode =
  /** An option object failed validation. */
  | "ERR_FLOW_CONFIG"
  /** A call made in a state that does not allow it (e.g. `addTransformer` while running). */
  | "ERR_FLOW_STATE"
  /** Two stages with one name, or a name that does not exist. */
  | "ERR_FLOW_STAGE_NAME";
