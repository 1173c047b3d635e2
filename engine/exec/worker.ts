/**
 * A piscina worker: evaluates morsel ranges of shard programs over shared memories. One kernel instance
 * per shard memory per worker, created on first use. Each worker owns one scratch slot in every shard
 * memory (claimed once, atomically), so workers never share registers.
 */
import { threadId, workerData } from "node:worker_threads";
import { LassoError } from "../errors.js";
import { MorselRunner } from "./evaluate.js";
import type { CountReply, WorkerInit, WorkerTask } from "./protocol.js";
import { Kernels, kernelModule } from "./wasm.js";

const init = workerData as WorkerInit;
const claims = new Int32Array(init.slotClaims);
let slot = 0;
const module = kernelModule(init.kernelVariant);
const runners = new Map<number, MorselRunner>();

/** Claims a free scratch slot by writing this thread's id into it; the pool frees it once we are gone. */
function claimSlot(): number {
  for (let i = 1; i < claims.length; i++) {
    if (Atomics.compareExchange(claims, i, 0, threadId) === 0) return i;
  }
  throw new LassoError("internal", "no free scratch slot for a new worker");
}

function runnerFor(memoryId: number, memory: WebAssembly.Memory): MorselRunner {
  // claimed on the first task, after the pool has freed the slots of dead workers (pool.ts)
  if (slot === 0) slot = claimSlot();
  let r = runners.get(memoryId);
  if (!r) {
    r = new MorselRunner(new Kernels(memory, module), slot);
    runners.set(memoryId, r);
  }
  return r;
}

export default function run(task: WorkerTask): CountReply {
  const cancel = new Int32Array(task.cancel);
  const signal = {
    get aborted() {
      return Atomics.load(cancel, 0) !== 0;
    },
  };
  let count = 0;
  for (const r of task.ranges) count += runnerFor(r.program.memoryId, r.memory).count(r.program, r.m0, r.m1, signal);
  return { count };
}
