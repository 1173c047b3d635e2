import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseInstant } from "../../engine/expr/index.js";
import { catchLasso, SEED } from "./support.js";

const NS_PER_MS = 1_000_000n;
const ms = (iso: string) => BigInt(Date.parse(iso)) * NS_PER_MS;

describe("parseInstant", () => {
  const VALID: Record<string, [string, bigint, boolean]> = {
    "epoch date": ["1970-01-01", 0n, false],
    "date": ["2025-01-31", ms("2025-01-31T00:00:00Z"), false],
    "leap day": ["2024-02-29", ms("2024-02-29T00:00:00Z"), false],
    "year 2000 leap day": ["2000-02-29", ms("2000-02-29T00:00:00Z"), false],
    "T, minutes only, no zone = UTC": ["2025-01-31T08:30", ms("2025-01-31T08:30:00Z"), true],
    "space separator": ["2025-01-31 08:30:15", ms("2025-01-31T08:30:15Z"), true],
    "Z": ["2025-01-31T08:30:15Z", ms("2025-01-31T08:30:15Z"), true],
    "lower-case t and z": ["2025-01-31t08:30:15z", ms("2025-01-31T08:30:15Z"), true],
    "+08:00": ["2025-01-31T08:00:00+08:00", ms("2025-01-31T00:00:00Z"), true],
    "-0530": ["2025-01-31T08:00-0530", ms("2025-01-31T13:30:00Z"), true],
    "+08": ["2025-01-01T00:00+08", ms("2024-12-31T16:00:00Z"), true],
    "fraction ms": ["2025-01-31T08:00:00.123Z", ms("2025-01-31T08:00:00.123Z"), true],
    "fraction ns": ["1970-01-01T00:00:00.000000001Z", 1n, true],
    "fraction 1 digit": ["1970-01-01T00:00:00.5", 500_000_000n, true],
    "before epoch": ["1969-12-31T23:59:59.999999999Z", -1n, true],
    "year 0": ["0000-03-01", ms("0000-03-01T00:00:00Z"), false],
    "year 9999": ["9999-12-31T23:59:59Z", ms("9999-12-31T23:59:59Z"), true],
    "1900 is not leap but 02-28 is fine": ["1900-02-28", ms("1900-02-28T00:00:00Z"), false],
  };
  it("keeps digits past nanoseconds as a sub-nanosecond flag (exact comparisons, SEL.md fine print)", () => {
    expect(parseInstant("1970-01-01T00:00:00.0000000001Z")).toEqual({ ns: 0n, hasTime: true, sub: true });
    expect(parseInstant("1970-01-01T00:00:00.1234567891234+01:00")).toEqual({ ns: 123_456_789n - 3_600_000_000_000n, hasTime: true, sub: true });
    expect(parseInstant("1970-01-01T00:00:00.0000000010000")).toEqual({ ns: 1n, hasTime: true });
  });
  for (const [name, [text, ns, hasTime]] of Object.entries(VALID)) {
    it(name, () => expect(parseInstant(text)).toEqual({ ns, hasTime }));
  }

  const INVALID: Record<string, string> = {
    "empty": "",
    "month 13": "2025-13-01",
    "month 00": "2025-00-01",
    "day 00": "2025-01-00",
    "Feb 29 in a non-leap year": "2025-02-29",
    "Feb 29 in 1900": "1900-02-29",
    "April 31": "2025-04-31",
    "hour 24": "2025-01-01T24:00",
    "minute 60": "2025-01-01T23:60",
    "second 60": "2025-01-01T23:59:60",
    "empty fraction": "2025-01-01T00:00:00.",
    "fraction without seconds": "2025-01-01T00:00.5",
    "offset on a date": "2025-01-01Z",
    "offset hour 24": "2025-01-01T00:00+24:00",
    "offset minute 60": "2025-01-01T00:00+01:60",
    "short year": "25-01-01",
    "slashes": "2025/01/01",
    "one-digit month": "2025-1-01",
    "hour only": "2025-01-01T08",
    "trailing blank": "2025-01-01 ",
    "leading blank": " 2025-01-01",
    "non-ASCII digits": "２０２５-01-01",
    "text": "yesterday",
  };
  for (const [name, text] of Object.entries(INVALID)) {
    it(`rejects ${name}`, () => expect(catchLasso(() => parseInstant(text)).code).toBe("syntax"));
  }

  it("agrees with Date.UTC on random instants (ms precision) and keeps extra digits exactly", () => {
    const pad = (n: number, w: number) => String(n).padStart(w, "0");
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 999_999_999 }), fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        (y, mo, d, h, mi, s, frac, offset) => {
          const valid = new Date(Date.UTC(2000, mo - 1, d)).getUTCMonth() === mo - 1 &&
            (mo !== 2 || d <= 28 || (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)));
          const sign = offset < 0 ? "-" : "+";
          const oh = Math.floor(Math.abs(offset) / 60);
          const om = Math.abs(offset) % 60;
          const text = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(frac, 9)}${sign}${pad(oh, 2)}:${pad(om, 2)}`;
          if (!valid) {
            expect(catchLasso(() => parseInstant(text)).code).toBe("syntax");
            return;
          }
          const date = new Date(0);
          date.setUTCFullYear(y, mo - 1, d);
          date.setUTCHours(h, mi, s, 0);
          const expected = BigInt(date.getTime()) * NS_PER_MS + BigInt(frac) - BigInt(offset * 60) * 1_000_000_000n;
          expect(parseInstant(text)).toEqual({ ns: expected, hasTime: true });
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
