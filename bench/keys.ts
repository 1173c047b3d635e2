/**
 * An order-independent digest of a set of entity keys, to check that two systems selected the same
 * entities without holding millions of keys: two sums (mod 2^32) of two different 32-bit hashes of each
 * key's decimal JSON text, plus the count. Keys are compared in their JSON encoding (API.md: 64-bit
 * keys as decimal strings), so DuckDB's BIGINT 9007199254740993n and the engine's "9007199254740993"
 * digest alike.
 */
export interface KeyDigest {
  count: number;
  /** Two 32-bit sums, hex. */
  sum: string;
}

export interface KeyDigester {
  add(key: string | number): void;
  value(): KeyDigest;
}

export function keyDigest(): KeyDigester {
  let a = 0;
  let b = 0;
  let count = 0;
  return {
    add(key) {
      const s = typeof key === "string" ? key : String(key);
      let h1 = 0x811c9dc5;
      let h2 = 0x9e3779b9;
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        h1 = Math.imul(h1 ^ c, 0x01000193);
        h2 = Math.imul(h2 + c, 0x85ebca6b) ^ (h2 >>> 13);
      }
      h2 = Math.imul(h2 ^ (h2 >>> 16), 0xc2b2ae35);
      a = (a + (h1 >>> 0)) >>> 0;
      b = (b + ((h2 ^ (h2 >>> 15)) >>> 0)) >>> 0;
      count++;
    },
    value() {
      return { count, sum: a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0") };
    },
  };
}
