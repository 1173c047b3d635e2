/**
 * The worker pool (piscina) and the decision of when to use it.
 *
 * A task round trip costs ~80 µs on this kind of machine (DESIGN.md), so a query runs on the calling
 * thread unless its work — rows × kernels — is large enough for a split to pay. Large counts are cut into
 * contiguous morsel ranges, a few per worker so an unlucky slow worker does not hold the whole answer.
 */
import { Piscina } from "piscina";
import { LassoError } from "../errors.js";
import { MORSEL_ROWS } from "../store/layout.js";
import { workerScript } from "../worker-script.js";
import type { ShardProgram } from "./program.js";
import type { CountReply, CountTask, MorselRange, WorkerInit } from "./protocol.js";

/** Below this many row·kernel steps (≈ 2–4 ms of kernel time; a split costs ≈ 0.4 ms) a query stays on the calling thread. */
export const SPLIT_THRESHOLD = 16_000_000;
const TASKS_PER_WORKER = 1;

export class WorkerPool {
  readonly threads: number;
  readonly slotClaims: SharedArrayBuffer;
  private readonly pool: Piscina;

  constructor(threads: number, kernelVariant: "release" | "debug" = "release") {
    this.threads = threads;
    // slot 0 is the main thread; a worker claims a slot with its threadId and the slot is freed when
    // piscina destroys it (a crashed worker is replaced), so slots never run out
    this.slotClaims = new SharedArrayBuffer(4 * WorkerPool.slotsFor(threads));
    const init: WorkerInit = { slotClaims: this.slotClaims, kernelVariant };
    this.pool = new Piscina({
      filename: workerScript(import.meta.url, "worker.js"),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: init,
    });
  }

  /** Frees the scratch slots of workers that are gone (crashed or terminated): live ones keep theirs. */
  private reclaimSlots(): void {
    const claims = new Int32Array(this.slotClaims);
    const live = new Set(this.pool.threads.map((w) => w.threadId));
    for (let i = 1; i < claims.length; i++) {
      const id = Atomics.load(claims, i);
      if (id !== 0 && !live.has(id)) Atomics.compareExchange(claims, i, id, 0);
    }
  }

  /** The worker threads (tests kill one to check recovery). */
  get workers(): readonly { terminate(): Promise<number> }[] {
    return this.pool.threads;
  }

  /** Scratch slots each shard memory must hold for this pool. */
  static slotsFor(threads: number): number {
    return 1 + threads * 2;
  }

  async count(programs: readonly ShardProgram[], memories: Map<number, WebAssembly.Memory>, signal?: AbortSignal): Promise<number> {
    this.reclaimSlots();
    const ranges = splitRanges(programs, memories, this.threads * TASKS_PER_WORKER);
    const cancel = new SharedArrayBuffer(4);
    const flag = new Int32Array(cancel);
    const onAbort = () => Atomics.store(flag, 0, 1);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      const replies = await Promise.all(
        ranges.map((r) => this.pool.run({ kind: "count", ranges: r, cancel } satisfies CountTask) as Promise<CountReply>),
      );
      return replies.reduce((s, r) => s + r.count, 0);
    } catch (e) {
      if (Atomics.load(flag, 0) !== 0) throw new LassoError("cancelled", "query cancelled");
      if (e instanceof LassoError) throw e;
      throw new LassoError("internal", `worker failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/** Cuts all morsels of all shards into `parts` contiguous, nearly equal runs. */
export function splitRanges(programs: readonly ShardProgram[], memories: Map<number, WebAssembly.Memory>, parts: number): MorselRange[][] {
  const total = programs.reduce((s, p) => s + Math.ceil(p.rows / MORSEL_ROWS), 0);
  const per = Math.max(1, Math.ceil(total / parts));
  const out: MorselRange[][] = [];
  let cur: MorselRange[] = [];
  let room = per;
  for (const p of programs) {
    const morsels = Math.ceil(p.rows / MORSEL_ROWS);
    let m = 0;
    while (m < morsels) {
      const take = Math.min(room, morsels - m);
      cur.push({ memory: memories.get(p.memoryId)!, program: p, m0: m, m1: m + take });
      m += take;
      room -= take;
      if (room === 0) {
        out.push(cur);
        cur = [];
        room = per;
      }
    }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

