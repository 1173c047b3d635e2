// Entity keys → decimal text: the step that turns selected rows into the bytes a client reads.
//
// Why a kernel: a 64-bit key's JSON form is a decimal string, and JS can only divide a 64-bit value
// exactly through floating-point limbs (~100 ns a key); here u64 division by the constant 10^8 compiles
// to a multiply, and digit pairs come from a 200-byte table (~30 ns a key, 5M keys in ~0.15 s).

import { E_ARG, E_BOUNDS, MORSEL_ROWS, outside } from "../status";

/** The key is a two's complement signed value (int32 / int64 keys); else unsigned. */
export const KEYS_SIGNED: i32 = 1;
/** Each key between double quotes (64-bit keys in JSON / NDJSON). */
export const KEYS_QUOTE: i32 = 2;
/** Each key as a msgpack fixstr: a length byte 0xa0 | len first. */
export const KEYS_FIXSTR: i32 = 4;
/** A comma before every key but the first of the call (JSON array items). */
export const KEYS_COMMA: i32 = 8;
/** LF after every key (NDJSON, lines). */
export const KEYS_LF: i32 = 16;
/** CR LF after every key (CSV). */
export const KEYS_CRLF: i32 = 32;
const KNOWN_FLAGS: i32 = 63;

/**
 * Most bytes one key takes with any accepted flags: a comma, a fixstr byte, two quotes,
 * "-9223372036854775808" (20) and CR LF (the entry check reserves this much per key, so no flag
 * combination can write past it).
 */
export const KEY_TEXT_MAX_BYTES: i32 = 26;

// "00" … "99" as ASCII byte pairs
const PAIRS: usize = memory.data<u8>([
  48, 48, 48, 49, 48, 50, 48, 51, 48, 52, 48, 53, 48, 54, 48, 55, 48, 56, 48, 57,
  49, 48, 49, 49, 49, 50, 49, 51, 49, 52, 49, 53, 49, 54, 49, 55, 49, 56, 49, 57,
  50, 48, 50, 49, 50, 50, 50, 51, 50, 52, 50, 53, 50, 54, 50, 55, 50, 56, 50, 57,
  51, 48, 51, 49, 51, 50, 51, 51, 51, 52, 51, 53, 51, 54, 51, 55, 51, 56, 51, 57,
  52, 48, 52, 49, 52, 50, 52, 51, 52, 52, 52, 53, 52, 54, 52, 55, 52, 56, 52, 57,
  53, 48, 53, 49, 53, 50, 53, 51, 53, 52, 53, 53, 53, 54, 53, 55, 53, 56, 53, 57,
  54, 48, 54, 49, 54, 50, 54, 51, 54, 52, 54, 53, 54, 54, 54, 55, 54, 56, 54, 57,
  55, 48, 55, 49, 55, 50, 55, 51, 55, 52, 55, 53, 55, 54, 55, 55, 55, 56, 55, 57,
  56, 48, 56, 49, 56, 50, 56, 51, 56, 52, 56, 53, 56, 54, 56, 55, 56, 56, 56, 57,
  57, 48, 57, 49, 57, 50, 57, 51, 57, 52, 57, 53, 57, 54, 57, 55, 57, 56, 57, 57,
]);

@inline
function pair(p: usize, v: u32): void {
  store<u16>(p, load<u16>(PAIRS + (<usize>v << 1)));
}

/** v < 10^8 as exactly eight digits. */
@inline
function write8(p: usize, v: u32): void {
  const hi4 = v / 10000;
  const lo4 = v - hi4 * 10000;
  const a = hi4 / 100;
  const c = lo4 / 100;
  pair(p, a);
  pair(p + 2, hi4 - a * 100);
  pair(p + 4, c);
  pair(p + 6, lo4 - c * 100);
}

/** v < 10^8 without leading zeros; returns the end. */
@inline
function writeSmall(p: usize, v: u32): usize {
  const n: usize = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 : v < 1000000 ? 6 : v < 10000000 ? 7 : 8;
  let e = p + n;
  while (v >= 100) {
    const q = v / 100;
    e -= 2;
    pair(e, v - q * 100);
    v = q;
  }
  if (v >= 10) pair(e - 2, v);
  else store<u8>(e - 1, 48 + v);
  return p + n;
}

/** Any u64 (up to 20 digits); returns the end. */
@inline
function writeU64(p: usize, v: u64): usize {
  if (v < 100000000) return writeSmall(p, <u32>v);
  const q = v / 100000000;
  const low = <u32>(v - q * 100000000);
  if (q < 100000000) p = writeSmall(p, <u32>q);
  else {
    const q2 = q / 100000000;
    p = writeSmall(p, <u32>q2);
    write8(p, <u32>(q - q2 * 100000000));
    p += 8;
  }
  write8(p, low);
  return p + 8;
}

/**
 * Writes the decimal text of `n` (≤ MORSEL_ROWS) 64-bit keys at `src` (little-endian u64 words; signed
 * under KEYS_SIGNED) to `dst`, dressed as `flags` say; returns the bytes written. `dst` must have room for
 * n × KEY_TEXT_MAX_BYTES bytes (the worst case, checked at entry).
 */
export function keysToDecimal(src: usize, n: i32, dst: usize, flags: i32): i32 {
  if (n < 0 || n > MORSEL_ROWS || (flags & ~KNOWN_FLAGS) != 0) return E_ARG;
  if (outside(src, <u64>n << 3) || outside(dst, <u64>n * KEY_TEXT_MAX_BYTES)) return E_BOUNDS;
  const signed = (flags & KEYS_SIGNED) != 0;
  const quote = (flags & KEYS_QUOTE) != 0;
  const fixstr = (flags & KEYS_FIXSTR) != 0;
  const comma = (flags & KEYS_COMMA) != 0;
  const lf = (flags & (KEYS_LF | KEYS_CRLF)) != 0;
  const cr = (flags & KEYS_CRLF) != 0;
  let p = dst;
  for (let i = 0; i < n; i++) {
    if (comma && i > 0) store<u8>(p++, 0x2c);
    const start = p;
    if (fixstr) p++;
    if (quote) store<u8>(p++, 0x22);
    let v = load<u64>(src + (<usize>i << 3));
    if (signed && <i64>v < 0) {
      store<u8>(p++, 0x2d);
      v = 0 - v; // the magnitude; -2^63 wraps to 2^63, which is right as unsigned
    }
    p = writeU64(p, v);
    if (quote) store<u8>(p++, 0x22);
    if (fixstr) store<u8>(start, 0xa0 | <u8>(p - start - 1));
    if (cr) store<u8>(p++, 0x0d);
    if (lf) store<u8>(p++, 0x0a);
  }
  return <i32>(p - dst);
}
