/**
 * Per-tag statistics for `GET /v1/entities/{e}/tags`: entities with a value (popcount of validity ∧
 * exists, in Wasm) and, for enum and multi tags, value frequencies among existing entities.
 */
import type { TagSummary } from "../api.js";
import type { MorselRunner } from "../exec/evaluate.js";
import type { EntityVersion } from "./entity.js";
import type { ShardMemory } from "./shard-memory.js";
import { codeView } from "./transaction.js";
import type { ContainerKind } from "../exec/wasm.js";
import { MORSEL_BYTES, MORSEL_ROWS, registerPtr } from "./layout.js";

export function summarizeTags(v: EntityVersion, runner: (m: ShardMemory) => MorselRunner, valuesLimit: number, only?: string): TagSummary[] {
  const out: TagSummary[] = [];
  for (const meta of v.tags.values()) {
    if (only !== undefined && meta.name !== only) continue;
    let withValue = 0;
    const freq = meta.dict && valuesLimit > 0 ? new Float64Array(meta.dict.size) : null;
    for (const s of v.shards) {
      const c = s.chunks.get(meta.name);
      if (!c) continue;
      const rows = Math.min(s.rows, c.capacity);
      const words = Math.ceil(rows / 64);
      if (words === 0) continue;
      withValue += c.sparse ? sparseWithValue(runner(s.mem), c.sparse.validity, s.exists.ptr, rows) : runner(s.mem).kernels.andPopcount(c.validity, s.exists.ptr, words);
      if (!freq) continue;
      const buf = s.mem.memory.buffer;
      const valid = new Uint8Array(buf, c.validity, words * 8);
      const exists = new Uint8Array(buf, s.exists.ptr, words * 8);
      if (meta.form === "codes") {
        const codes = codeView(buf, c.values, rows, meta.codeBytes!);
        for (let r = 0; r < rows; r++) {
          if ((valid[r >> 3]! & exists[r >> 3]! & (1 << (r & 7))) !== 0) freq[codes[r]!]!++;
        }
      } else {
        const offs = new Int32Array(buf, c.offsets, c.capacity + 1);
        const codes = codeView(buf, c.codes, c.codesUsed, meta.codeBytes!);
        for (let r = 0; r < rows; r++) {
          if ((valid[r >> 3]! & exists[r >> 3]! & (1 << (r & 7))) === 0) continue;
          for (let i = offs[r]!; i < offs[r + 1]!; i++) freq[codes[i]!]!++;
        }
      }
    }
    const t: TagSummary = { name: meta.name, type: meta.type, rowsWithValue: withValue };
    if (freq) {
      const values: { value: string; count: number }[] = [];
      freq.forEach((count, code) => {
        if (count > 0) values.push({ value: meta.dict!.values[code]!, count });
      });
      values.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
      t.values = values.slice(0, valuesLimit);
      t.valuesTruncated = values.length > valuesLimit;
    }
    out.push(t);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** popcount(valid ∧ exists) of a row set in container form, a morsel at a time in a scratch register. */
function sparseWithValue(r: MorselRunner, dir: number, exists: number, rows: number): number {
  const k = r.kernels;
  const scratch = registerPtr(0, 1);
  const d = new Uint32Array(k.memory.buffer, dir, Math.ceil(rows / MORSEL_ROWS) * 3);
  let n = 0;
  for (let m = 0; m * MORSEL_ROWS < rows; m++) {
    if (d[m * 3]! === 0) continue;
    k.containerToBitmap(d[m * 3]! as ContainerKind, d[m * 3 + 2]!, d[m * 3 + 1]!, scratch);
    n += k.andPopcount(scratch, exists + m * MORSEL_BYTES, Math.ceil(Math.min(MORSEL_ROWS, rows - m * MORSEL_ROWS) / 64));
  }
  return n;
}
