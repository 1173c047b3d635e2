/**
 * ISO 8601 / RFC 3339 instants (SEL.md fine print): `YYYY-MM-DD`, or a date, `T` or a space,
 * `HH:MM[:SS[.fraction]]` and an optional offset `Z`, `±HH:MM`, `±HHMM` or `±HH` (none = UTC).
 * Any number of fraction digits: the instant is `ns` plus, when `sub` is set, a positive amount below one
 * nanosecond (digits past the ninth), so a literal finer than every tag compares exactly (SEL.md).
 */
import { LassoError } from "../errors.js";

export const NS_PER_SECOND = 1_000_000_000n;
export const SECONDS_PER_DAY = 86_400;
const MAX_FRACTION_DIGITS = 9;

// Lower-case `t`/`z` are RFC 3339's own allowance.
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

const FORMS = "YYYY-MM-DD, optionally followed by T or a space and HH:MM[:SS[.fraction]] and Z, ±HH:MM, ±HHMM or ±HH";

export interface Instant {
  /** Nanoseconds since 1970-01-01T00:00:00Z. */
  readonly ns: bigint;
  /** False for a bare date (which means 00:00:00 UTC of that day). */
  readonly hasTime: boolean;
  /** The exact instant lies strictly between `ns` and `ns + 1` (non-zero digits past nanoseconds). */
  readonly sub?: boolean;
}

/**
 * Example: `parseInstant("2025-01-31T08:00:00+08:00")` → `{ ns: 1738281600000000000n, hasTime: true }`.
 * Throws LassoError("syntax") without a location: callers add the literal's place.
 */
export function parseInstant(text: string): Instant {
  const m = INSTANT.exec(text);
  if (!m) throw bad(text, `expected ${FORMS}`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12) throw bad(text, `month ${m[2]} is not 01–12`);
  const last = daysInMonth(year, month);
  if (day < 1 || day > last) throw bad(text, `day ${m[3]} is not 01–${last} for ${m[1]}-${m[2]}`);
  let ns = BigInt(daysFromCivil(year, month, day)) * BigInt(SECONDS_PER_DAY) * NS_PER_SECOND;
  if (m[4] === undefined) return { ns, hasTime: false };

  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (hour > 23) throw bad(text, `hour ${m[4]} is not 00–23`);
  if (minute > 59) throw bad(text, `minute ${m[5]} is not 00–59`);
  if (second > 59) throw bad(text, `second ${m[6]} is not 00–59`);
  const fraction = m[7] ?? "";
  ns += BigInt(hour * 3600 + minute * 60 + second) * NS_PER_SECOND;
  if (fraction) ns += BigInt(fraction.slice(0, MAX_FRACTION_DIGITS).padEnd(MAX_FRACTION_DIGITS, "0"));
  const sub = /[1-9]/.test(fraction.slice(MAX_FRACTION_DIGITS));

  if (m[9] !== undefined) {
    const offsetHours = Number(m[10]);
    const offsetMinutes = m[11] === undefined ? 0 : Number(m[11]);
    if (offsetHours > 23) throw bad(text, `offset hour ${m[10]} is not 00–23`);
    if (offsetMinutes > 59) throw bad(text, `offset minute ${m[11]} is not 00–59`);
    const offset = BigInt(offsetHours * 3600 + offsetMinutes * 60) * NS_PER_SECOND;
    // local time = UTC + offset, so UTC = local − offset
    ns += m[9] === "+" ? -offset : offset;
  }
  return sub ? { ns, hasTime: true, sub } : { ns, hasTime: true };
}

function bad(text: string, why: string): LassoError {
  const shown = text.length > 64 ? `${text.slice(0, 61)}...` : text;
  return new LassoError("syntax", `invalid date/time '${shown}': ${why}`, { expected: [FORMS] });
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeapYear(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant, "chrono-compatible date algorithms"). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
