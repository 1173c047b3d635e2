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
