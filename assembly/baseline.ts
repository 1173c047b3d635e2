// Memory-bandwidth baselines for bench/kernels.ts: the fastest a kernel reading the same bytes could
// go on this machine, measured in the same run so kernel figures can be read as a ratio.

import { E_BOUNDS, outside } from "./status";

/** Read `bytes` bytes (a multiple of 64) with v128 loads; returns a fold so the loads cannot be dropped. */
export function scanBytes(ptr: usize, bytes: u32): i32 {
  if (outside(ptr, <u64>bytes)) return E_BOUNDS;
  const end = ptr + (<usize>bytes & ~(<usize>63));
  let a = i64x2.splat(0), b = a, c = a, d = a;
  for (let p = ptr; p < end; p += 64) {
    a = v128.xor(a, v128.load(p));
    b = v128.xor(b, v128.load(p, 16));
    c = v128.xor(c, v128.load(p, 32));
    d = v128.xor(d, v128.load(p, 48));
  }
  const x = v128.xor(v128.xor(a, b), v128.xor(c, d));
  return (i32x4.extract_lane(x, 0) ^ i32x4.extract_lane(x, 1) ^ i32x4.extract_lane(x, 2) ^ i32x4.extract_lane(x, 3)) & 0x7fffffff;
}

/** memory.copy of `bytes` bytes (reads and writes each byte once). */
export function copyBytes(dst: usize, src: usize, bytes: u32): i32 {
  if (outside(dst, <u64>bytes) || outside(src, <u64>bytes)) return E_BOUNDS;
  memory.copy(dst, src, <usize>bytes);
  return 0;
}

/**
 * The memory traffic of a kernel with the work taken out: reads `aBytes` at `a` and `bBytes` at `b` and
 * writes `dstBytes` at `dst`, 64 bytes a step per stream with v128 loads and stores, the streams
 * interleaved in proportion to their lengths (as a kernel reading a column and its validity, or two
 * bitmaps and writing a third, does). Lengths are rounded down to multiples of 64; a zero length leaves
 * that stream out. Returns a fold of what was read so the loads cannot be dropped.
 */
export function streamBytes(dst: usize, dstBytes: u32, a: usize, aBytes: u32, b: usize, bBytes: u32): i32 {
  if (outside(dst, <u64>dstBytes) || outside(a, <u64>aBytes) || outside(b, <u64>bBytes)) return E_BOUNDS;
  const na = aBytes >> 6, nb = bBytes >> 6, nd = dstBytes >> 6;
  const steps = max(na, max(nb, nd));
  let x = i64x2.splat(0), y = x, z = x, w = x;
  let pa = a, pb = b, pd = dst;
  // Bresenham error terms: a stream of n blocks advances on n of the `steps` steps, evenly spread.
  let ea: u32 = 0, eb: u32 = 0, ed: u32 = 0;
  for (let i: u32 = 0; i < steps; i++) {
    ea += na;
    if (ea >= steps) {
      ea -= steps;
      x = v128.xor(x, v128.load(pa));
      y = v128.xor(y, v128.load(pa, 16));
      z = v128.xor(z, v128.load(pa, 32));
      w = v128.xor(w, v128.load(pa, 48));
      pa += 64;
    }
    eb += nb;
    if (eb >= steps) {
      eb -= steps;
      x = v128.xor(x, v128.load(pb));
      y = v128.xor(y, v128.load(pb, 16));
      z = v128.xor(z, v128.load(pb, 32));
      w = v128.xor(w, v128.load(pb, 48));
      pb += 64;
    }
    ed += nd;
    if (ed >= steps) {
      ed -= steps;
      v128.store(pd, x);
      v128.store(pd, y, 16);
      v128.store(pd, z, 32);
      v128.store(pd, w, 48);
      pd += 64;
    }
  }
  const f = v128.xor(v128.xor(x, y), v128.xor(z, w));
  return (i32x4.extract_lane(f, 0) ^ i32x4.extract_lane(f, 1) ^ i32x4.extract_lane(f, 2) ^ i32x4.extract_lane(f, 3)) & 0x7fffffff;
}
