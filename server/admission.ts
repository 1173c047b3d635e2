/**
 * Admission and per-query control: how many queries and loads may run at once, and each query's
 * cancellation (client gone, `cancel` op, shutdown) and timeout, folded into one AbortSignal for the engine.
 */
import type { SelectRequest } from "../engine/api.js";
import { LassoError, isLassoError } from "../engine/errors.js";
import type { SelectFields } from "./request-shapes.js";

export type WorkKind = "query" | "load";

/** Counts running work; refuses with `overloaded` past the limits. */
export class Admission {
  private queries = 0;
  private loads = 0;
  private readonly running = new Set<QueryControl>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly maxQueries: number,
    private readonly maxLoads: number,
  ) {}

  get queriesInFlight(): number {
    return this.queries;
  }
  get loadsInFlight(): number {
    return this.loads;
  }

  /** Takes a slot or throws `overloaded`; `release` gives it back (idempotent). */
  admit(kind: WorkKind, control: QueryControl): () => void {
    if (kind === "query" ? this.queries >= this.maxQueries : this.loads >= this.maxLoads) {
      const limit = kind === "query" ? this.maxQueries : this.maxLoads;
      throw new LassoError("overloaded", `the server is running its limit of ${limit} ${kind === "query" ? "queries" : "loads"} at once; retry shortly`);
    }
    if (kind === "query") this.queries++;
    else this.loads++;
    this.running.add(control);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (kind === "query") this.queries--;
      else this.loads--;
      this.running.delete(control);
      if (this.running.size === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    };
  }

  /** Resolves when nothing runs any more. */
  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops every running query and load (shutdown past its deadline). */
  abortAll(reason: string): void {
    for (const c of this.running) c.cancel(reason);
  }
}

/**
 * One request's cancellation and clock. The timeout covers the time to the answer's first byte (for a
 * select: to its count); after that the stream is paced by the client and bounded by backpressure.
 */
export class QueryControl {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private why: "timeout" | "cancelled" | undefined;
  readonly startedAt = performance.now();

  constructor(readonly timeoutMs: number) {
    if (timeoutMs > 0) {
      this.timer = setTimeout(() => {
        this.why ??= "timeout";
        this.controller.abort(new LassoError("timeout", `the query ran past its ${timeoutMs} ms time limit`));
      }, timeoutMs);
      this.timer.unref();
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }
  get cancelled(): boolean {
    return this.why === "cancelled";
  }
  get timedOut(): boolean {
    return this.why === "timeout";
  }
  get stopped(): boolean {
    return this.why !== undefined;
  }

  elapsedMs(): number {
    return Math.round((performance.now() - this.startedAt) * 1000) / 1000;
  }

  /** The answer has started: from here the client paces the stream. */
  stopClock(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  cancel(reason = "cancelled"): void {
    this.stopClock();
    if (this.why) return;
    this.why = "cancelled";
    this.controller.abort(new LassoError("cancelled", reason));
  }

  done(): void {
    this.stopClock();
  }

  /**
   * What to report for a failure: our own timeout wins over the engine's `cancelled` that it caused;
   * anything that is not a LassoError is the server's own fault.
   */
  toLassoError(e: unknown): LassoError {
    if (this.why === "timeout" && !(isLassoError(e) && e.code !== "cancelled")) {
      return new LassoError("timeout", `the query ran past its ${this.timeoutMs} ms time limit`);
    }
    if (isLassoError(e)) return e;
    if (this.why === "cancelled") return new LassoError("cancelled", "the request was cancelled");
    return new LassoError("internal", "internal error", { cause: e });
  }
}

/** The timeout a request asked for, within the server's bounds. */
export function effectiveTimeout(requested: number | undefined, dflt: number, max: number): number {
  if (requested === undefined) return dflt;
  return Math.min(requested, max);
}

/**
 * A select's time limit covers the work up to its count, not the stream a slow client paces, so it is
 * enforced through the signal (the clock stops once the selection is out) rather than handed to the
 * engine as `timeoutMs`, whose deadline would also cut the stream.
 */
export function selectRequest(f: SelectFields, control: QueryControl): SelectRequest {
  const { timeoutMs: _ignored, ...rest } = f;
  return { ...rest, signal: control.signal };
}
