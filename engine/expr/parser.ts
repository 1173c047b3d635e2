/**
 * SEL text form → AST (SEL.md "Grammar"), by recursive descent with one token of lookahead.
 *
 * Depth (SEL.md): each parenthesised group, each NOT and each AND/OR operand is one level. Parens and
 * NOTs are checked before descending, so recursion is bounded by the limit. An AND/OR operand is only
 * known to be one after its first operand has been read, so every parse step reports the extra levels
 * it holds (`height`) and where the deepest one opens (`deep`): the chain then checks the first operand
 * after the fact, without re-reading it.
 */
import { LassoError, type Span } from "../errors.js";
import type { CompareOp, Expr, Literal } from "./ast.js";
import { Lexer, spanBetween, tokenSpan, truncate, type Pos, type Token } from "./lexer.js";
import { isStackOverflow, resolveLimits, type ParseOptions } from "./limits.js";
import { likePatternEndsInLoneBackslash, NON_NEGATIVE_INTEGER, numberValue } from "./literals.js";
import { codePointLength, unitOf, type Keyword } from "./names.js";
import { parseInstant } from "./time.js";

/**
 * Example: `parseText("城市 IN ('上海', '北京') AND 年龄 BETWEEN 25 AND 35")` → an `and` node of two predicates.
 * Throws LassoError: `too_large` (checked first), `too_deep`, `syntax` (with `at` and `expected`).
 */
export function parseText(text: string, opts?: ParseOptions): Expr {
  const { maxBytes, maxDepth } = resolveLimits(opts);
  if (typeof text !== "string") {
    throw new LassoError("syntax", `expected expression text (a string), found ${typeof text}`, { expected: ["a string"] });
  }
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) {
    // SEL.md: every error says where; the offending text is all of it
    throw new LassoError("too_large", `expression is ${bytes} bytes of UTF-8; the limit is ${maxBytes}`, {
      at: { line: 1, column: 1, length: codePointLength(text) },
      bytes,
      limit: maxBytes,
    });
  }
  try {
    return new TextParser(text, maxDepth).parse();
  } catch (e) {
    if (isStackOverflow(e)) throw new LassoError("too_deep", "expression nests too deeply to read", { limit: maxDepth });
    throw e;
  }
}

interface Parsed {
  readonly expr: Expr;
  /** Levels below this expression's own level (0 for a predicate). */
  readonly height: number;
  /** Where the deepest level opens (the expression itself when height is 0). */
  readonly deep: Span;
  /** Including any enclosing parentheses. */
  readonly start: Pos;
  readonly end: Pos;
}

const COMPARE_OPS: Readonly<Record<string, CompareOp>> = {
  "=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
};

const PRIMARY_EXPECTED = ["a tag name", "'('", "NOT", "TRUE", "FALSE", "@segment"];
const LITERAL_EXPECTED = ["a string", "a number", "TRUE", "FALSE", "DATE '…'", "TIMESTAMP '…'"];
const OPERATOR_EXPECTED = [
  "=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN", "BETWEEN", "NOT BETWEEN", "IS NULL", "IS NOT NULL",
  "HAS", "HAS ANY", "HAS ALL", "LIKE", "NOT LIKE", "WITHIN", "BEFORE", "AFTER", "AND", "OR", "')'", "end of input",
];

class TextParser {
  private readonly lexer: Lexer;
  private look: Token | undefined;

  constructor(text: string, private readonly maxDepth: number) {
    this.lexer = new Lexer(text);
  }

  parse(): Expr {
    const first = this.peek();
    if (first.kind === "eof") {
      throw syntax(first, "empty expression: expected a predicate such as city = '上海'", ["an expression"]);
    }
    const result = this.orExpr(0);
    const t = this.peek();
    if (t.kind !== "eof") throw syntax(t, `expected AND, OR or end of input, found ${describe(t)}`, ["AND", "OR", "end of input"]);
    return result.expr;
  }

  // ---- tokens ----

  private peek(): Token {
    return (this.look ??= this.lexer.next());
  }
  private take(): Token {
    const t = this.peek();
    this.look = undefined;
    return t;
  }
  private isKeyword(t: Token, k: Keyword): boolean {
    return t.kind === "word" && t.keyword === k;
  }
  private isPunct(t: Token, p: string): boolean {
    return t.kind === "punct" && t.text === p;
  }

  // ---- boolean structure ----

  private orExpr(depth: number): Parsed {
    return this.chain(depth, "OR");
  }

  /**
   * `operand (KEYWORD operand)*` as one node; a single operand is returned as is. OR's operands are
   * AND chains, AND's are NOT expressions. (One method rather than two with callbacks: fewer stack
   * frames per nesting level.)
   */
  private chain(depth: number, keyword: "AND" | "OR"): Parsed {
    const operand = (d: number): Parsed => (keyword === "OR" ? this.chain(d, "AND") : this.notExpr(d));
    const first = operand(depth);
    if (!this.isKeyword(this.peek(), keyword)) return first;
    if (depth + 1 + first.height > this.maxDepth) throw tooDeep(first.deep, this.maxDepth);
    const items = [first];
    while (this.isKeyword(this.peek(), keyword)) {
      this.take();
      items.push(operand(depth + 1));
    }
    let deepest = first;
    for (const item of items) if (item.height > deepest.height) deepest = item;
    const last = items[items.length - 1]!;
    const at = spanBetween(first.start, last.end);
    const args = items.map((i) => i.expr);
    const expr: Expr = keyword === "AND" ? { type: "and", args, at } : { type: "or", args, at };
    return { expr, height: deepest.height + 1, deep: deepest.deep, start: first.start, end: last.end };
  }

  private notExpr(depth: number): Parsed {
    const t = this.peek();
    if (!this.isKeyword(t, "NOT")) return this.primary(depth);
    this.take();
    if (depth + 1 > this.maxDepth) throw tooDeep(tokenSpan(t), this.maxDepth);
    const arg = this.notExpr(depth + 1);
    return {
      expr: { type: "not", arg: arg.expr, at: spanBetween(t.start, arg.end) },
      height: arg.height + 1,
      deep: arg.height > 0 ? arg.deep : tokenSpan(t),
      start: t.start,
      end: arg.end,
    };
  }

  private primary(depth: number): Parsed {
    const t = this.peek();
    if (this.isPunct(t, "(")) {
      this.take();
      if (depth + 1 > this.maxDepth) throw tooDeep(tokenSpan(t), this.maxDepth);
      const inner = this.orExpr(depth + 1);
      const close = this.peek();
      if (!this.isPunct(close, ")")) {
        throw syntax(
          close,
          `expected ')' to close the '(' at ${t.start.line}:${t.start.column}, or AND / OR, found ${describe(close)}`,
          ["')'", "AND", "OR"],
        );
      }
      this.take();
      return {
        expr: inner.expr,
        height: inner.height + 1,
        deep: inner.height > 0 ? inner.deep : tokenSpan(t),
        start: t.start,
        end: close.end,
      };
    }
    if (this.isKeyword(t, "TRUE") || this.isKeyword(t, "FALSE")) {
      this.take();
      return leaf({ type: "const", value: t.keyword === "TRUE", at: tokenSpan(t) }, t.start, t.end);
    }
    if (t.kind === "segment") {
      this.take();
      return leaf({ type: "segment", name: t.value, at: tokenSpan(t) }, t.start, t.end);
    }
    if ((t.kind === "word" && !t.keyword) || t.kind === "name") {
      this.take();
      return this.predicate(t);
    }
    let message = `expected a tag name, '(', NOT, TRUE, FALSE or @segment, found ${describe(t)}`;
    if (t.kind === "word" && t.keyword) {
      message += ` (${t.keyword} is a reserved word: write \`${t.text}\` to use it as a tag name)`;
    }
    throw syntax(t, message, PRIMARY_EXPECTED);
  }

  // ---- predicates ----

  private predicate(tagToken: Token): Parsed {
    const tag = tagToken.value;
    const tagAt = tokenSpan(tagToken);
    const start = tagToken.start;
    // Builds the node with tag, tagAt and at filled in. Fields are assigned rather than spread:
    // object spread over these many node shapes was the parser's hottest line.
    const node = (end: Pos, body: PredicateBody): Parsed => {
      const expr = body as PredicateBody & { tag: string; tagAt: Span; at: Span };
      expr.tag = tag;
      expr.tagAt = tagAt;
      expr.at = spanBetween(start, end);
      return leaf(expr as Expr, start, end);
    };

    const t = this.peek();
    if (t.kind === "punct" && COMPARE_OPS[t.text]) {
      this.take();
      const value = this.literal(`after '${t.text}'`);
      return node(value.end, { type: "cmp", op: COMPARE_OPS[t.text]!, value: value.lit });
    }
    if (t.kind === "word" && t.keyword) {
      switch (t.keyword) {
        case "NOT": {
          this.take();
          const u = this.peek();
          if (this.isKeyword(u, "IN")) return this.inList(node, true);
          if (this.isKeyword(u, "BETWEEN")) return this.between(node, true);
          if (this.isKeyword(u, "LIKE")) return this.like(node, true);
          throw syntax(u, `expected IN, BETWEEN or LIKE after '${tag} NOT', found ${describe(u)}`, ["IN", "BETWEEN", "LIKE"]);
        }
        case "IN":
          return this.inList(node, false);
        case "BETWEEN":
          return this.between(node, false);
        case "LIKE":
          return this.like(node, false);
        case "IS": {
          this.take();
          let negated = false;
          if (this.isKeyword(this.peek(), "NOT")) {
            this.take();
            negated = true;
          }
          const n = this.peek();
          if (!this.isKeyword(n, "NULL")) {
            const expected = negated ? ["NULL"] : ["NULL", "NOT NULL"];
            throw syntax(n, `expected ${expected.join(" or ")} after IS${negated ? " NOT" : ""}, found ${describe(n)}`, expected);
          }
          this.take();
          return node(n.end, { type: "null", negated });
        }
        case "HAS": {
          this.take();
          const u = this.peek();
          if (this.isKeyword(u, "ANY") || this.isKeyword(u, "ALL")) {
            this.take();
            const list = this.literalList(`HAS ${u.keyword}`);
            return node(list.end, { type: "has", mode: u.keyword === "ANY" ? "any" : "all", values: list.values });
          }
          const value = this.literal("after HAS (or ANY (…) / ALL (…))");
          return node(value.end, { type: "has", mode: "one", values: [value.lit] });
        }
        case "WITHIN": {
          this.take();
          const n = this.peek();
          if (n.kind !== "number" || !NON_NEGATIVE_INTEGER.test(n.text)) {
            throw syntax(n, `WITHIN takes a non-negative whole number (e.g. WITHIN 30 DAYS), found ${describe(n)}`, ["a whole number"]);
          }
          this.take();
          const u = this.peek();
          const unit = u.kind === "word" ? unitOf(u.text) : undefined;
          if (!unit) {
            throw syntax(u, `expected DAYS, HOURS or MINUTES after 'WITHIN ${n.text}', found ${describe(u)}`, ["DAYS", "HOURS", "MINUTES"]);
          }
          this.take();
          return node(u.end, { type: "within", amount: BigInt(n.text), unit });
        }
        case "BEFORE":
        case "AFTER": {
          this.take();
          const value = this.literal(`after ${t.keyword} (e.g. ${t.keyword} '2025-01-01')`);
          return node(value.end, { type: t.keyword === "BEFORE" ? "before" : "after", value: value.lit });
        }
        case "AND":
        case "OR":
          return node(tagToken.end, { type: "tag" });
        default:
          break;
      }
    }
    if (t.kind === "eof" || this.isPunct(t, ")")) return node(tagToken.end, { type: "tag" });
    throw syntax(
      t,
      "expected an operator (= != < <= > >= IN BETWEEN IS HAS LIKE WITHIN BEFORE AFTER), AND, OR, ')' or end of input " +
        `after tag '${truncate(tag)}', found ${describe(t)}`,
      OPERATOR_EXPECTED,
    );
  }

  private inList(node: NodeBuilder, negated: boolean): Parsed {
    this.take(); // IN
    const list = this.literalList(negated ? "NOT IN" : "IN");
    return node(list.end, { type: "in", negated, values: list.values });
  }

  private between(node: NodeBuilder, negated: boolean): Parsed {
    this.take(); // BETWEEN
    const low = this.literal("after BETWEEN");
    const and = this.peek();
    if (!this.isKeyword(and, "AND")) {
      throw syntax(and, `expected AND after the BETWEEN low bound, found ${describe(and)}`, ["AND"]);
    }
    this.take();
    const high = this.literal("after BETWEEN … AND");
    return node(high.end, { type: "between", negated, low: low.lit, high: high.lit });
  }

  private like(node: NodeBuilder, negated: boolean): Parsed {
    this.take(); // LIKE
    const s = this.peek();
    if (s.kind !== "string") throw syntax(s, `expected a string pattern after LIKE (e.g. LIKE '上%'), found ${describe(s)}`, ["a string"]);
    this.take();
    if (likePatternEndsInLoneBackslash(s.value)) {
      const message =
        "LIKE pattern ends with an escape character '\\' that escapes nothing " +
        "(to match a backslash the pattern needs \\\\, written '\\\\\\\\' in a quoted string)";
      throw syntax(s, message, ["a LIKE pattern"]);
    }
    return node(s.end, { type: "like", negated, pattern: s.value });
  }

  /** `'(' literal (',' literal)* ')'` */
  private literalList(after: string): { values: Literal[]; end: Pos } {
    const open = this.peek();
    if (!this.isPunct(open, "(")) throw syntax(open, `expected '(' after ${after}, found ${describe(open)}`, ["'('"]);
    this.take();
    const values = [this.literal(`in ${after} (…)`).lit];
    for (;;) {
      const t = this.peek();
      if (this.isPunct(t, ")")) {
        this.take();
        return { values, end: t.end };
      }
      if (!this.isPunct(t, ",")) {
        throw syntax(t, `expected ')' or ',' after ${after} value, found ${describe(t)}`, ["')'", "','"]);
      }
      this.take();
      values.push(this.literal(`after ',' in ${after} (…)`).lit);
    }
  }

  private literal(where: string): { lit: Literal; end: Pos } {
    const t = this.peek();
    switch (t.kind) {
      case "string":
        this.take();
        return { lit: { kind: "string", value: t.value, at: tokenSpan(t) }, end: t.end };
      case "number": {
        this.take();
        const { value, int } = numberValue(t.text);
        return { lit: { kind: "number", text: t.text, value, int, at: tokenSpan(t) }, end: t.end };
      }
      case "word":
        if (t.keyword === "TRUE" || t.keyword === "FALSE") {
          this.take();
          return { lit: { kind: "bool", value: t.keyword === "TRUE", at: tokenSpan(t) }, end: t.end };
        }
        if (t.keyword === "DATE" || t.keyword === "TIMESTAMP") return this.timeLiteral();
        if (t.keyword === "NULL") {
          throw syntax(t, `expected a literal ${where}, found 'NULL' (test for null with IS NULL / IS NOT NULL)`, LITERAL_EXPECTED);
        }
        break;
      default:
        break;
    }
    const message = `expected a literal (string, number, TRUE, FALSE, DATE '…' or TIMESTAMP '…') ${where}, found ${describe(t)}`;
    throw syntax(t, message, LITERAL_EXPECTED);
  }

  private timeLiteral(): { lit: Literal; end: Pos } {
    const kw = this.take();
    const form = kw.keyword === "DATE" ? "date" : "timestamp";
    const example = form === "date" ? "DATE '2025-01-31'" : "TIMESTAMP '2025-01-31T08:00:00Z'";
    const s = this.peek();
    if (s.kind !== "string") throw syntax(s, `expected a string after ${kw.keyword} (e.g. ${example}), found ${describe(s)}`, ["a string"]);
    this.take();
    const at = spanBetween(kw.start, s.end);
    let hasTime: boolean;
    try {
      hasTime = parseInstant(s.value).hasTime;
    } catch (e) {
      if (e instanceof LassoError) throw new LassoError("syntax", e.message, { ...e.details, at });
      throw e;
    }
    if (form === "date" && hasTime) {
      throw new LassoError("syntax", `DATE takes a date only (YYYY-MM-DD); use TIMESTAMP '${truncate(s.value)}' for a date and time`, {
        at,
        expected: ["YYYY-MM-DD"],
      });
    }
    return { lit: { kind: "time", form, text: s.value, at }, end: s.end };
  }
}

type Predicate = Extract<Expr, { tag: string }>;
/** A predicate's own fields; the builder adds tag, tagAt and at. */
type PredicateBody = Predicate extends infer P
  ? P extends Predicate
    ? { -readonly [K in Exclude<keyof P, "tag" | "tagAt" | "at" | "path">]: P[K] }
    : never
  : never;
type NodeBuilder = (end: Pos, rest: PredicateBody) => Parsed;

function leaf(expr: Expr, start: Pos, end: Pos): Parsed {
  return { expr, height: 0, deep: spanBetween(start, end), start, end };
}

function describe(t: Token): string {
  if (t.kind === "eof") return "end of input";
  if (t.kind === "string") return `the string ${truncate(t.text)}`;
  return `'${truncate(t.text)}'`;
}

function syntax(t: Token, message: string, expected: string[]): LassoError {
  return new LassoError("syntax", message, { at: tokenSpan(t), expected });
}

function tooDeep(at: Span, maxDepth: number): LassoError {
  return new LassoError(
    "too_deep",
    `expression nests deeper than ${maxDepth} levels (each '(', NOT and AND/OR operand is one level)`,
    { at, limit: maxDepth },
  );
}
