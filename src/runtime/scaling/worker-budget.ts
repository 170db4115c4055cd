import { FlowConfigError } from "../../errors.js";
/** What the budget reads and asks of a stage's scaling controller (`BudgetMember`). */
export interface BudgetMember {
  readonly stage: string;
  /** Workers counted toward the target. */
  readonly active: number;
  /** Whether the stage has finished (its workers leave the budget). */
  readonly finished: boolean;
  /** The fewest workers the budget leaves the stage. */
  readonly floor: number;
  /** How badly the stage needs workers: its expected queue wait. */
  pressure(): number;
  /** Workers the stage could give up now. */
  spare(): number;
  /** Resizes the stage for the budget; returns the change made. */
  budgetResize(target: number, reason: string): number;
}

/** A move on pressure alone is not undone (the same pair, the other way) within this long. */
const REVERSE_HOLD_MS = 5000;

/**
 * A flow-wide cap on workers (`maxTotalWorkers`), shared by every stage's controller.
 *
 * Growth that would pass the cap is cut to what is left, and the stage's wish is remembered. On
 * each tick, while some stage with a queue wishes for more and the budget is spent, workers move
 * to the bottleneck — the stage whose expected queue wait (backlog / throughput, or the oldest item's
 * age) is worst — from the stage with the most spare capacity: workers blocked on a full
 * downstream queue, idle workers, or workers its own strategy no longer wants. When no stage has
 * spare workers, one worker a tick moves from the stage under the least pressure, if that
 * pressure is under half the bottleneck's, and not back along a move made within 5 s (two
 * backlogged stages would otherwise trade a worker back and forth). Every stage keeps at least one worker (and its
 * `minWorkers`), so a budget must be at least the number of stages.
 */
export class WorkerBudget {
  readonly #controllers: BudgetMember[] = [];
  /** Growth the budget cut, by stage: what it asked for and when. */
  protected readonly wanted = new Map<BudgetMember, { to: number; at: number }>();
  #lastMove: { from: BudgetMember; to: BudgetMember; at: number } | null = null;

  constructor(
    readonly asked: number,
    /** The option that set the limit, for the reasons of the moves it makes. */
    readonly option = "maxTotalWorkers",
  ) {}

  /** The most workers the budget holds now: what was asked (a subclass may hold fewer for a while). */
  get limit(): number {
    return this.asked;
  }

  /** Why workers are shed when more run than the limit. */
  protected overReason(): string {
    return `budget: over ${this.option}`;
  }

  /** How its moves' reasons begin: `budget` (the flow's workers) or `thread budget`. */
  get #label(): string {
    return this.option === "maxThreads" ? "thread budget" : "budget";
  }

  add(controller: BudgetMember): void {
    this.#controllers.push(controller);
  }

  /** Workers active across the flow. */
  get used(): number {
    let n = 0;
    for (const c of this.#controllers) n += c.active;
    return n;
  }

  /** Workers `controller` may still start: what is left once every other live stage with no worker keeps its one. */
  room(controller: BudgetMember): number {
    let reserved = 0;
    for (const c of this.#controllers)
      if (c !== controller && c.active === 0 && !c.finished) reserved += c.floor;
    return this.limit - this.used - reserved;
  }

  /** The most `controller` may grow to from `from` toward `to`; remembers a wish that was cut. */
  cap(controller: BudgetMember, from: number, to: number, now: number): number {
    const room = this.room(controller);
    const allowed = from + Math.max(0, room);
    if (to > allowed) {
      this.wanted.set(controller, { to, at: now });
      return Math.max(from, allowed);
    }
    this.wanted.delete(controller);
    return to;
  }

  /**
   * Moves workers toward the bottleneck; called on the flow's tick (at `now`, read before the
   * stages' own ticks ran).
   */
  rebalance(now: number): void {
    const live = this.#controllers.filter((c) => !c.finished);
    // Over the cap (a liveness start can pass it): shed from the least pressed stages first.
    let over = this.used - this.limit;
    if (over > 0) {
      const byPressure = [...live].sort((a, b) => a.pressure() - b.pressure());
      for (const c of byPressure) {
        if (over <= 0) break;
        const give = Math.min(over, c.active - c.floor);
        if (give > 0) over -= c.active - c.budgetResize(c.active - give, this.overReason());
      }
      return;
    }
    if (this.used < this.limit) return;
    let needy: BudgetMember | null = null;
    let needyPressure = 0;
    for (const c of live) {
      const w = this.wanted.get(c);
      // Only a wish made on this tick counts: a strategy that still wants more asks on every tick,
      // and one that holds (to measure a step, say) is not handed workers behind its back.
      if (!w || w.at < now || w.to <= c.active) continue;
      const p = c.pressure();
      if (needy === null || p > needyPressure) {
        needy = c;
        needyPressure = p;
      }
    }
    if (needy === null || needyPressure <= 0) return;
    const want = this.wanted.get(needy)!.to - needy.active;
    let donor: BudgetMember | null = null;
    let spare = 0;
    let calmest: BudgetMember | null = null;
    let calmestPressure = Number.POSITIVE_INFINITY;
    for (const c of live) {
      if (c === needy || c.active <= c.floor) continue;
      const s = Math.min(c.active - c.floor, Math.floor(c.spare()));
      if (s > spare) {
        donor = c;
        spare = s;
      }
      const p = c.pressure();
      if (p < calmestPressure) {
        calmest = c;
        calmestPressure = p;
      }
    }
    let moved = 0;
    if (donor !== null) moved = Math.min(spare, want);
    else if (calmest !== null && calmestPressure < needyPressure / 2) {
      const last = this.#lastMove;
      if (last !== null && last.from === needy && last.to === calmest && now - last.at < REVERSE_HOLD_MS)
        return;
      donor = calmest;
      moved = 1;
      this.#lastMove = { from: calmest, to: needy, at: now };
    }
    if (donor === null || moved <= 0) return;
    const why = `${this.#label}: ${moved} to ${needy.stage} (expected queue wait ${Math.round(needyPressure)} ms)`;
    const freed = donor.active - donor.budgetResize(donor.active - moved, why);
    if (freed > 0) needy.budgetResize(needy.active + freed, `${this.#label}: ${freed} from ${donor.stage}`);
  }
}

/**
 * One budget of `limit` workers shared by the controllers of `stages` (`maxTotalWorkers` over
 * every stage; `maxThreads` over the threaded ones), or none when no limit is set or no stage
 * shares it. A limit below one worker per stage is a `FlowConfigError` when the user set it; a
 * default one (the cores, for threads) is raised to one per stage.
 */
export function shareBudget(
  stages: readonly { readonly controller: BudgetMember & { readonly budgets: WorkerBudget[] } }[],
  limit: number | undefined,
  option: "maxTotalWorkers" | "maxThreads" = "maxTotalWorkers",
  asked = true,
  make: (limit: number) => WorkerBudget = (l) => new WorkerBudget(l, option),
): WorkerBudget | null {
  if (limit === undefined || stages.length === 0) return null;
  if (limit < stages.length && asked) {
    const per =
      option === "maxThreads"
        ? `thread per threaded stage (this flow has ${stages.length} threaded stages)`
        : `worker per stage (this flow has ${stages.length} stages)`;
    throw new FlowConfigError(`Flow: option "${option}" = ${limit}: expected at least one ${per}`, {
      code: "ERR_FLOW_CONFIG",
      option,
    });
  }
  const budget = make(Math.max(limit, stages.length));
  for (const { controller } of stages) {
    budget.add(controller);
    controller.budgets.push(budget);
  }
  return budget;
}
