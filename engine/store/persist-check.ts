/**
 * A content checksum of a store version: every existing entity's key and every tag value, in row order,
 * plus the tags' metas. Two versions with equal checksums hold the same data in the same layout, so the
 * crash tests can tell "exactly the version published before the crash" from "a mix of two".
 *
 * Values are hashed as the store holds them (int/float bit patterns, dictionary *values* rather than
 * codes, list members in stored order), so a restored store must match bit for bit.
 *
 * @example
 *   checksumVersion(store.current) // → "3f9a…"  (32 hex digits)
 */
import { expandInto } from "./containers.js";
import type { EntityVersion } from "./entity.js";
import { MORSEL_ROWS } from "./layout.js";
import type { Chunk } from "./tags.js";

export function checksumVersion(v: EntityVersion): string {
  const h = new Hash();
  h.str(v.keyType);
  h.u32(v.total);
  h.u32(v.rows);
  const metas = [...v.tags.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const m of metas) {
    h.str(m.name);
    h.str(`${m.type}/${m.form}/${m.codeBytes ?? ""}/${m.unit ?? ""}`);
  }
  const keys = v.store.keys;
  for (const s of v.shards) {
    // bool chunks in container form are read through a dense copy
    const dense = new Map<string, Chunk>();
    const scratch: number[] = [];
    for (const [name, c] of s.chunks) {
      if (!c.sparse) continue;
      const bits = c.capacity / 8;
      const ptr = s.mem.allocZeroed(bits * 2);
      scratch.push(ptr);
      expandInto(s.mem, c.sparse.validity, c.capacity / MORSEL_ROWS, ptr);
      expandInto(s.mem, c.sparse.values, c.capacity / MORSEL_ROWS, ptr + bits);
      dense.set(name, { ...c, validity: ptr, values: ptr + bits });
    }
    const buf = s.mem.memory.buffer;
    const u8 = new Uint8Array(buf);
    const i32 = new Int32Array(buf);
    const u16 = new Uint16Array(buf);
    const u32 = new Uint32Array(buf);
    const chunks = metas.map((m) => dense.get(m.name) ?? s.chunks.get(m.name));
    for (let r = 0; r < s.rows; r++) {
      if ((u8[s.exists.ptr + (r >> 3)]! & (1 << (r & 7))) === 0) continue;
      h.str(String(keys.jsonKey(s.index * v.shardRows + r)));
      metas.forEach((m, t) => {
        const c = chunks[t];
        if (!c || r >= c.capacity || (u8[c.validity + (r >> 3)]! & (1 << (r & 7))) === 0) {
          h.u32(0x9e3779b9); // null
          return;
        }
        const code = (p: number, bytes: number) => (bytes === 1 ? u8[p]! : bytes === 2 ? u16[p >> 1]! : u32[p >> 2]!);
        switch (m.form) {
          case "bool":
            h.u32((u8[c.values + (r >> 3)]! >> (r & 7)) & 1);
            break;
          case "i32":
          case "f32":
            h.u32(i32[(c.values >> 2) + r]!);
            break;
          case "i64":
          case "f64":
            h.u32(i32[(c.values >> 2) + r * 2]!);
            h.u32(i32[(c.values >> 2) + r * 2 + 1]!);
            break;
          case "codes":
            h.str(m.dict!.values[code(c.values + r * m.codeBytes!, m.codeBytes!)]!);
            break;
          case "list": {
            const a = i32[(c.offsets >> 2) + r]!;
            const b = i32[(c.offsets >> 2) + r + 1]!;
            h.u32(b - a);
            for (let i = a; i < b; i++) h.str(m.dict!.values[code(c.codes + i * m.codeBytes!, m.codeBytes!)]!);
            break;
          }
        }
      });
    }
    for (const p of scratch) s.mem.freeBlock(p);
  }
  return h.hex();
}

/** Four independent 32-bit lanes (murmur3 mixing): collisions are out of reach of any test. */
class Hash {
  private a = 0x12345678;
  private b = 0x9abcdef0;
  private c = 0x0fedcba9;
  private d = 0x87654321;
  u32(x: number): void {
    x |= 0;
    this.a = mix(this.a ^ x, 0xcc9e2d51);
    this.b = mix(this.b + x, 0x1b873593);
    this.c = mix(this.c ^ Math.imul(x, 0x85ebca6b), 0xe6546b64);
    this.d = mix(this.d + (x ^ 0x5bd1e995), 0xc2b2ae35);
  }
  str(s: string): void {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.u32(s.charCodeAt(i));
  }
  hex(): string {
    return [this.a, this.b, this.c, this.d].map((x) => (x >>> 0).toString(16).padStart(8, "0")).join("");
  }
}

function mix(h: number, k: number): number {
  h = Math.imul(h, k);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h + 0x6b43a9b5) | 0;
}
