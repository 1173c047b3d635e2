/**
 * The oracle's own ISO 8601 / RFC 3339 reader (SEL.md, Fine print), written apart from the engine's on
 * purpose: two independent readings of the same rule are what make a differential test worth running.
 *
 * An instant is kept exactly, in nanoseconds since 1970-01-01T00:00:00Z: `floor` is the whole part and
 * `frac` says digits finer than a nanosecond were non-zero (the value then lies strictly between floor and
 * floor + 1). Every stored time value is a whole number of nanoseconds, so that pair decides every
 * comparison exactly. Numeric literals against int tags use the same shape (./evaluate.ts).
 */
export interface Exact {
  readonly floor: bigint;
  readonly frac: boolean;
}

/** An instant: `floor` in nanoseconds since the epoch. */
export type ExactInstant = Exact;

export const NS_PER_SECOND = 1_000_000_000n;
export const NS_PER_DAY = 86_400n * NS_PER_SECOND;

// date, then optionally (T|t|space) HH:MM[:SS[.fraction]] and an optional offset Z | ±HH:MM | ±HHMM | ±HH.
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

/** Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Reads `text` as an instant, or returns null when it is not one.
 * `form`: `date` (DATE literal: a date only), `timestamp` / `any` (a date with or without a time).
 */
export function parseInstant(text: string, form: "date" | "timestamp" | "any" = "any"): ExactInstant | null {
  const m = ISO.exec(text);
  if (!m) return null;
  const [, ys, mos, ds, hs, mis, ss, fs, z, sign, ohs, oms] = m;
  if (form === "date" && hs !== undefined) return null;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  const hour = hs === undefined ? 0 : Number(hs);
  const minute = mis === undefined ? 0 : Number(mis);
  const second = ss === undefined ? 0 : Number(ss);
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetSeconds = 0;
  if (z === undefined && sign !== undefined) {
    const oh = Number(ohs);
    const om = oms === undefined ? 0 : Number(oms);
    if (oh > 23 || om > 59) return null;
    offsetSeconds = (sign === "-" ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const fraction = fs ?? "";
  const fracNs = BigInt((fraction.slice(0, 9) + "000000000").slice(0, 9));
  const finer = /[1-9]/.test(fraction.slice(9));
  // Local wall time minus the offset is UTC: 10:00+08:00 is 02:00Z.
  const seconds = BigInt(daysFromCivil(year, month, day)) * 86_400n + BigInt(hour * 3600 + minute * 60 + second) -
    BigInt(offsetSeconds);
  return { floor: seconds * NS_PER_SECOND + fracNs, frac: finer };
}

/** -1, 0, 1 as the integer `t` is below, at, or above the exact value `x`. */
export function compareToExact(t: bigint, x: Exact): -1 | 0 | 1 {
  if (t < x.floor) return -1;
  if (t > x.floor) return 1;
  return x.frac ? -1 : 0;
}
