/**
 * The worker protocol: what crosses between the main thread and the piscina workers. Shard memories are
 * shared (structured clone passes a handle, never bytes); programs are small plain data.
 */
import type { ShardProgram } from "./program.js";

export interface WorkerInit {
  /** Int32Array over this: slot claims (index 0 is the main thread's). */
  readonly slotClaims: SharedArrayBuffer;
  readonly kernelVariant: "release" | "debug";
}

/** A contiguous run of morsels of one shard. */
export interface MorselRange {
  readonly memory: WebAssembly.Memory;
  readonly program: ShardProgram;
  readonly m0: number;
  readonly m1: number;
}

export interface CountTask {
  readonly kind: "count";
  readonly ranges: readonly MorselRange[];
  /** Int32Array(1) over this: non-zero = cancelled (checked between morsels). */
  readonly cancel: SharedArrayBuffer;
}

export type WorkerTask = CountTask;

export interface CountReply {
  readonly count: number;
}
