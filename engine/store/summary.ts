/**
 * Per-tag statistics for `GET /v1/entities/{e}/tags`: entities with a value (popcount of validity ∧
 * exists, in Wasm) and, for enum and multi tags, value frequencies among existing entities.
 */
import type { TagSummary } from "../api.js";
import type { MorselRunner } from "../exec/evaluate.js";
import type { EntityVersion } from "./entity.js";
import type { ShardMemory } from "./shard-memory.js";
import { codeView } from "./transaction.js";

export function summarizeTags(v: EntityVersion, runner: (m: ShardMemory) => MorselRunner, valuesLimit: number): TagSummary[] {
  const out: TagSummary[] = [];
  for (const meta of v.tags.values()) {
    let withValue = 0;
    const freq = meta.dict ? new Float64Array(meta.dict.size) : null;
    for (const s of v.shards) {
      const c = s.chunks.get(meta.name);
      if (!c) continue;
      const rows = Math.min(s.rows, c.capacity);
      const words = Math.ceil(rows / 64);
      if (words === 0) continue;
      withValue += runner(s.mem).kernels.andPopcount(c.validity, s.exists.ptr, words);
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
