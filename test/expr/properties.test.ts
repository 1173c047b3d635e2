/**
 * Property tests (fast-check, fixed seed: see support.ts; a failure prints the seed and the case).
 * - any tree → format → parseText gives the tree back; toJson → parseJson likewise where JSON can say it;
 * - any string, token soup, byte soup or JSON value → the readers and the checker either succeed or throw
 *   a LassoError with a valid code and a location inside the input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CompareOp, Expr, Literal, TimeUnit } from "../../engine/expr/ast.js";
import { LassoError } from "../../engine/errors.js";
import { check, format, parseJson, parseText, stripLocations, toJson } from "../../engine/expr/index.js";
import { userCatalog } from "./catalog.js";
import { ERROR_CODES, SEED, show } from "./support.js";

const RUNS = 400;

// ---- an independent oracle for number literals: exact rational arithmetic ----
function numberOracle(text: string): { value: number; int: bigint | null } {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text)!;
  const fraction = m[3] ?? "";
  const exponent = Number(m[4] ?? "0");
  let numerator = BigInt(m[2]! + fraction);
  let denominator = 10n ** BigInt(fraction.length);
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator *= 10n ** BigInt(-exponent);
  const int = numerator % denominator === 0n ? (m[1] ? -1n : 1n) * (numerator / denominator) : null;
  return { value: Number(text), int };
}

// ---- generators ----

const PLAIN_NAMES = ["a", "b", "city", "age", "_x", "a.b.c", "x1", "城市", "年龄", "ÄÖÜ", "ชื่อ", "days", "HOUR", "minutes", "Null_ish"];
const ODD_NAMES = ["AND", "or", "Not", "null", "date", "TIMESTAMP", "acq-channel", "a b", "1abc", "😀", "a'b", 'a"b', "a\\b", "x\ny", " "];

const noLoneSurrogate = (s: string) => !/\p{Cs}/u.test(s);
const anyText = fc.string({ unit: "binary", maxLength: 12 }).filter(noLoneSurrogate);

const tagName = fc.oneof(
  fc.constantFrom(...PLAIN_NAMES),
  fc.constantFrom(...ODD_NAMES),
  anyText.filter((s) => s.length > 0 && !s.includes("`")),
);
const segmentName = fc.oneof(
  fc.constantFrom("vip", "vip-women", "a.b", "2025-q1", "高价值", "x".repeat(128)),
  fc.stringMatching(/^[a-z0-9_.-]{1,20}$/),
);
const stringLit: fc.Arbitrary<Literal> = fc.oneof(fc.constantFrom("上海", "", "'", "\\", "%_", "\u0000\u2028"), anyText).map((value) => ({ kind: "string" as const, value }));
const boolLit: fc.Arbitrary<Literal> = fc.boolean().map((value) => ({ kind: "bool" as const, value }));

/** Any number text of the grammar, including non-canonical forms (1E3, 30.0, -0.50e+2). */
const numberText = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.stringMatching(/^\d{1,3}$/), fc.stringMatching(/^[1-9]\d{15,25}$/)),
    fc.option(fc.stringMatching(/^\d{1,4}$/), { nil: undefined }),
    fc.option(fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), fc.integer({ min: 0, max: 30 })), { nil: undefined }),
  )
  .map(([neg, whole, frac, exp]) => `${neg ? "-" : ""}${whole}${frac === undefined ? "" : `.${frac}`}${exp === undefined ? "" : `${exp[0]}${exp[1]}${exp[2]}`}`);
const numberLit: fc.Arbitrary<Literal> = numberText.map((text) => ({ kind: "number" as const, text, ...numberOracle(text) }));

/** Canonical JSON numbers: what a JSON number becomes on reading (text = String(n), no -0). */
const jsonNumberLit: fc.Arbitrary<Literal> = fc
  .oneof(fc.integer({ min: -1e9, max: 1e9 }), fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true }))
  .filter((n) => !Object.is(n, -0))
  .map((n) => ({ kind: "number" as const, text: String(n), ...numberOracle(String(n)) }));

const pad = (n: number, w: number) => String(n).padStart(w, "0");
const dateText = fc
  .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }))
  .map(([y, m, d]) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`);
const timeText = fc
  .tuple(
    dateText,
    fc.constantFrom("T", " "),
    fc.integer({ min: 0, max: 23 }),
    fc.integer({ min: 0, max: 59 }),
    fc.option(fc.tuple(fc.integer({ min: 0, max: 59 }), fc.option(fc.stringMatching(/^\d{1,9}$/), { nil: undefined })), { nil: undefined }),
    fc.constantFrom("", "Z", "+08:00", "-0530", "+01"),
  )
  .map(([d, sep, h, mi, sec, zone]) => {
    const seconds = sec === undefined ? "" : `:${pad(sec[0], 2)}${sec[1] === undefined ? "" : `.${sec[1]}`}`;
    return `${d}${sep}${pad(h, 2)}:${pad(mi, 2)}${seconds}${zone}`;
  });
const timeLit: fc.Arbitrary<Literal> = fc.oneof(
  dateText.map((text) => ({ kind: "time" as const, form: "date" as const, text })),
  fc.oneof(dateText, timeText).map((text) => ({ kind: "time" as const, form: "timestamp" as const, text })),
);

const likePattern = fc.oneof(fc.constantFrom("上%", "a\\%", "\\\\", "_"), anyText).filter((p) => !/(^|[^\\])(\\\\)*\\$/.test(p));
const compareOp = fc.constantFrom<CompareOp>("=", "!=", "<", "<=", ">", ">=");
const timeUnit = fc.constantFrom<TimeUnit>("day", "hour", "minute");

function trees(literal: fc.Arbitrary<Literal>): fc.Arbitrary<Expr> {
  const values = fc.array(literal, { minLength: 1, maxLength: 3 });
  const predicate: fc.Arbitrary<Expr> = fc.oneof(
    tagName.map((tag) => ({ type: "tag" as const, tag })),
    fc.record({ type: fc.constant("cmp" as const), tag: tagName, op: compareOp, value: literal }),
    fc.record({ type: fc.constant("in" as const), tag: tagName, negated: fc.boolean(), values }),
    fc.record({ type: fc.constant("between" as const), tag: tagName, negated: fc.boolean(), low: literal, high: literal }),
    fc.record({ type: fc.constant("null" as const), tag: tagName, negated: fc.boolean() }),
    fc.record({ type: fc.constant("has" as const), tag: tagName, mode: fc.constant("one" as const), values: literal.map((v) => [v]) }),
    fc.record({ type: fc.constant("has" as const), tag: tagName, mode: fc.constantFrom("any" as const, "all" as const), values }),
    fc.record({ type: fc.constant("like" as const), tag: tagName, negated: fc.boolean(), pattern: likePattern }),
    fc.record({ type: fc.constant("within" as const), tag: tagName, amount: fc.bigInt({ min: 0n, max: 2n ** 70n }), unit: timeUnit }),
    fc.record({ type: fc.constantFrom("before" as const, "after" as const), tag: tagName, value: literal }),
    fc.boolean().map((value) => ({ type: "const" as const, value })),
    segmentName.map((name) => ({ type: "segment" as const, name })),
  );
  return fc.letrec<{ expr: Expr }>((tie) => ({
    expr: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      predicate,
      fc.record({ type: fc.constantFrom("and" as const, "or" as const), args: fc.array(tie("expr"), { minLength: 2, maxLength: 4 }) }),
      tie("expr").map((arg) => ({ type: "not" as const, arg })),
    ),
  })).expr;
}

const textTree = trees(fc.oneof(stringLit, numberLit, boolLit, timeLit));
/** Trees whose every literal the JSON form states exactly: strings, booleans, canonical numbers. */
const jsonTree = trees(fc.oneof(stringLit, jsonNumberLit, boolLit));

// ---- the checks every failure must pass ----

/** A thrown value must be a LassoError with a known code, located inside the text. */
function expectWellFormedError(e: unknown, text?: string): void {
  if (!(e instanceof LassoError)) throw e;
  expect(ERROR_CODES.has(e.code), e.code).toBe(true);
  if (text === undefined || e.at === undefined) return;
  const lines = text.split("\n").map((l) => Array.from(l).length);
  const { line, column, length } = e.at;
  expect(line).toBeGreaterThanOrEqual(1);
  expect(line).toBeLessThanOrEqual(lines.length);
  expect(column).toBeGreaterThanOrEqual(1);
  expect(column - 1).toBeLessThanOrEqual(lines[line - 1]!);
  const offset = lines.slice(0, line - 1).reduce((a, n) => a + n + 1, 0) + column - 1;
  expect(offset + length).toBeLessThanOrEqual(Array.from(text).length);
}

function parseAndCheck(text: string): void {
  try {
    const e = parseText(text);
    // whatever parses, round-trips
    expect(stripLocations(parseText(format(e)))).toEqual(stripLocations(e));
    check(e, userCatalog());
  } catch (e) {
    expectWellFormedError(e, text);
  }
}

const TOKENS = [
  "AND", "and", "OR", "Or", "NOT", "not", "IN", "IS", "NULL", "BETWEEN", "LIKE", "HAS", "ANY", "ALL", "WITHIN",
  "BEFORE", "AFTER", "TRUE", "FALSE", "DATE", "TIMESTAMP", "DAYS", "hour", "minutes",
  "(", ")", ",", "=", "!=", "<>", "<", "<=", ">", ">=", "!", "-", ".", "@", "`", "'", '"', "\\",
  "age", "city", "churned", "interests", "last_order_at", "城市", "年龄", "`acq-channel`", "`AND`", "@vip", "@`v v`",
  "'上海'", "'x\\n'", "'\\u{1F600}'", "'\\uD83D'", "'\\q'", "'50\\\\%'", "\"it's\"", "'2025-01-01'", "'2025-02-30'",
  "30", "-1", "1.5", "1e3", "9223372036854775807", "1.", "😀", "#", "\u3000", "\n",
];
const tokenSoup = fc.array(fc.tuple(fc.constantFrom(...TOKENS), fc.constantFrom(" ", "", " ", "\n")), { maxLength: 25 }).map((ts) => ts.map(([t, s]) => t + s).join(""));

describe("round trips", () => {
  it("parseText(format(tree)) gives the tree back", () => {
    fc.assert(
      fc.property(textTree, (tree) => {
        const text = format(tree);
        expect(stripLocations(parseText(text)), text).toEqual(tree);
      }),
      { seed: SEED, numRuns: RUNS * 2 },
    );
  });

  it("parseJson(toJson(tree)) gives the tree back where JSON can state it", () => {
    fc.assert(
      fc.property(jsonTree, (tree) => {
        const json = toJson(tree);
        // through real JSON text, as a client would send it
        expect(stripLocations(parseJson(JSON.parse(JSON.stringify(json)))), JSON.stringify(json)).toEqual(tree);
      }),
      { seed: SEED, numRuns: RUNS * 2 },
    );
  });

  it("toJson is a fixpoint for every tree, and the JSON and text forms agree", () => {
    fc.assert(
      fc.property(textTree, (tree) => {
        const json = JSON.parse(JSON.stringify(toJson(tree)));
        const again = parseJson(json);
        expect(JSON.stringify(toJson(again))).toBe(JSON.stringify(json));
        expect(stripLocations(parseText(format(again)))).toEqual(stripLocations(again));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("text spans always lie inside the text", () => {
    fc.assert(
      fc.property(textTree, (tree) => {
        const text = format(tree);
        const spans: { line: number; column: number; length: number }[] = [];
        JSON.stringify(parseText(text), (k, v) => {
          if ((k === "at" || k === "tagAt") && v) spans.push(v);
          return typeof v === "bigint" ? String(v) : v;
        });
        const cps = Array.from(text).length;
        const lineStarts = [0];
        Array.from(text).forEach((ch, i) => ch === "\n" && lineStarts.push(i + 1));
        for (const s of spans) expect(lineStarts[s.line - 1]! + s.column - 1 + s.length).toBeLessThanOrEqual(cps);
      }),
      { seed: SEED, numRuns: RUNS / 2 },
    );
  });
});

describe("bad input only ever raises a LassoError", () => {
  it("random strings", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 60 }), parseAndCheck), { seed: SEED, numRuns: RUNS * 3 });
  });

  it("random token soups", () => {
    fc.assert(fc.property(tokenSoup, parseAndCheck), { seed: SEED, numRuns: RUNS * 5 });
  });

  it("random bytes decoded as UTF-8", () => {
    const decoder = new TextDecoder("utf-8", { fatal: false });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => parseAndCheck(decoder.decode(bytes))),
      { seed: SEED, numRuns: RUNS * 3 },
    );
  });

  it("mutated valid expressions", () => {
    fc.assert(
      fc.property(textTree, fc.nat(), fc.constantFrom("", "(", ")", "'", "`", "\\", "AND", "@", "😀", "-"), (tree, at, insert) => {
        const text = format(tree);
        const cut = at % (text.length + 1);
        parseAndCheck(text.slice(0, cut) + insert + text.slice(cut + 1));
      }),
      { seed: SEED, numRuns: RUNS * 2 },
    );
  });

  it("random JSON values", () => {
    const catalog = userCatalog();
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 6 }), fc.anything({ maxDepth: 4 })), (value) => {
        try {
          check(parseJson(value), catalog);
        } catch (e) {
          expectWellFormedError(e);
          if (e instanceof LassoError) expect(typeof e.path, show(value)).toBe("string");
        }
      }),
      { seed: SEED, numRuns: RUNS * 3 },
    );
  });

  it("JSON trees with random leaves", () => {
    const catalog = userCatalog();
    const leaf = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom("age", "city", "interests", "last_order_at", "2025-01-01", "days", 30, -1, 1.5));
    const node = fc.letrec<{ n: unknown }>((tie) => ({
      n: fc.oneof(
        { depthSize: "small" },
        fc.tuple(fc.constantFrom("=", "!=", "<", "in", "notIn", "between", "has", "hasAny", "like", "within", "before", "tag", "isNull", "segment"), fc.array(leaf, { maxLength: 4 }), fc.boolean(), leaf)
          .map(([k, arr, useArr, single]) => ({ [k]: useArr ? arr : single })),
        fc.tuple(fc.constantFrom("and", "or"), fc.array(tie("n"), { maxLength: 3 })).map(([k, xs]) => ({ [k]: xs })),
        tie("n").map((n) => ({ not: n })),
        fc.boolean(),
      ),
    })).n;
    fc.assert(
      fc.property(node, (value) => {
        try {
          check(parseJson(value), catalog);
        } catch (e) {
          expectWellFormedError(e);
        }
      }),
      { seed: SEED, numRuns: RUNS * 3 },
    );
  });
});
