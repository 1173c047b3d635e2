/** Set-bit counts of JS-side bitmaps (the Wasm kernels count shard bitmaps; these serve load and open). */

/** Set bits of a 32-bit word (SWAR). */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Set bits among the first `rows` bits (LSB-first) of `bytes`. */
export function popcountRows(bytes: Uint8Array, rows: number): number {
  const fullBytes = rows >> 3;
  let n = 0;
  let i = 0;
  // word at a time where the bytes are 4-aligned (a view at any offset may be passed)
  if ((bytes.byteOffset & 3) === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, fullBytes >> 2);
    for (let w = 0; w < words.length; w++) n += popcount32(words[w]!);
    i = words.length << 2;
  }
  for (; i < fullBytes; i++) n += popcount32(bytes[i]!);
  if ((rows & 7) !== 0) n += popcount32(bytes[fullBytes]! & ((1 << (rows & 7)) - 1));
  return n;
}
