/**
 * Fuzzy tag search over name, display name and description, for Chinese and English, without a
 * dictionary or a tokenizer for Chinese.
 *
 * Text is normalised (NFKC, camelCase and snake_case split into words, lower case, punctuation to
 * spaces) and indexed three ways, all in memory and keyed by a dense document slot:
 * - `bigrams` (pairs of code units within a word) of every field: a substring match of a term contains all
 *   of the term's bigrams, so these give the exact substring / prefix candidates in Chinese and English;
 * - `chars`: single CJK characters of name and display name. One typo (substitution, insertion, deletion or
 *   transposition) removes at most one distinct character from a match, so "shares ≥ |C| − k of the term's
 *   characters" is a sound candidate filter for k typos in CJK terms;
 * - `vocab`: the letters-only words of name and display name. A typo'd English term is compared (optimal
 *   string alignment, free end: "custmr" ≈ "customer") with each vocabulary word, far fewer than tags,
 *   once per query; documents holding a near word are candidates.
 * Every term must match somewhere (AND). Candidates are scored (`scoreDoc`): per term the best of exact
 * (100) / prefix (80) / word start (70) / substring (55) in name and display name, half that in the
 * description; failing those, one typo 40, two 25, or a non-contiguous CJK phrase 25–40. A phrase bonus
 * rewards the whole query appearing as typed. Typos: none below 4 letters (3 CJK characters), one up to 7,
 * two from 8; an edit touching a digit counts double, so "30d" never matches "90d".
 */

/** Descriptions longer than this are indexed and matched by their beginning only. */
const DESCRIPTION_INDEX_CHARS = 2000;

/** Field weights: a hit in the name or display name counts more than one in the description. */
const WEIGHT = { name: 1, displayName: 1, description: 0.5 } as const;
/** Scores of one term against one field, best first. */
const SCORE = { exact: 100, prefix: 80, wordStart: 70, substring: 55, typo1: 40, typo2: 25 } as const;
const PHRASE_BONUS = { exact: 60, contains: 30 } as const;
/** Least share of a CJK term's bigrams a field must hold to match it non-contiguously. */
const CJK_COVERAGE_MIN = 0.6;
const SPACE = 32;
/** Candidates few enough to score directly instead of narrowing by further terms. */
const FEW_CANDIDATES = 2000;

/**
 * Word characters at or above U+0080, by code unit. Dropped: Latin-1 punctuation, general punctuation,
 * symbols, arrows, math, box drawing (U+2000–2BFF), CJK punctuation (U+3000–303F) and the CJK
 * compatibility punctuation forms (U+FE30–FE6F); NFKC has already folded full-width forms to ASCII.
 * (Unicode property regexes cost 3–4 µs a string here: most of indexing 100,000 tags.)
 */
function isWordUnit(c: number): boolean {
  return (
    c === 0xb5 ||
    (c >= 0xc0 && c <= 0x1fff && c !== 0xd7 && c !== 0xf7) ||
    (c >= 0x2c00 && c <= 0x2fff) ||
    (c >= 0x3040 && c <= 0xfe2f) ||
    (c >= 0xfe70 && c <= 0xffef)
  );
}

let normBuf = new Uint16Array(256);

/**
 * NFKC, camelCase split ("lastOrderAt" → "last order at"), lower case, every run of non-word characters
 * (`_`, `-`, `.`, punctuation, spaces) to one space, trimmed. One pass over code units.
 */
export function normalizeText(s: string): string {
  const t = s.normalize("NFKC");
  if (normBuf.length < t.length * 2 + 1) normBuf = new Uint16Array(t.length * 2 + 1);
  const buf = normBuf;
  let n = 0;
  let afterLowerOrDigit = false;
  let nonAscii = false;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      if (afterLowerOrDigit) buf[n++] = SPACE;
      buf[n++] = c + 32;
      afterLowerOrDigit = false;
    } else if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
      buf[n++] = c;
      afterLowerOrDigit = true;
    } else if (c >= 0x80 && isWordUnit(c)) {
      buf[n++] = c;
      nonAscii = true;
      afterLowerOrDigit = false;
    } else {
      if (n > 0 && buf[n - 1] !== SPACE) buf[n++] = SPACE;
      afterLowerOrDigit = false;
    }
  }
  if (n > 0 && buf[n - 1] === SPACE) n--;
  let out = "";
  for (let i = 0; i < n; i += 4096) out += String.fromCharCode.apply(null, buf.subarray(i, Math.min(n, i + 4096)) as unknown as number[]);
  return nonAscii ? out.toLowerCase() : out;
}

/** Kana, CJK ideographs (BMP) and Hangul syllables, by code unit. */
function isCjkUnit(c: number): boolean {
  return (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff);
}

export function isCjk(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isCjkUnit(s.charCodeAt(i))) return true;
  return false;
}

function cjkCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (isCjkUnit(s.charCodeAt(i))) n++;
  return n;
}

/** Typos tolerated in a term: none below 4 letters (2 CJK characters), then one, then two from 8 letters. */
export function maxTypos(term: string): number {
  if (cjkCount(term) > 0) return term.length >= 3 ? 1 : 0;
  if (term.length <= 3) return 0;
  return term.length <= 7 ? 1 : 2;
}

/** Two UTF-16 code units as one number: Map lookups on numbers are ~3× cheaper than on 2-char strings. */
function gram(a: number, b: number): number {
  return a * 65536 + b;
}

/** Bigrams within words (never across the spaces between them). */
function bigramsOf(text: string, out: Set<number>): void {
  for (let i = 0; i + 1 < text.length; i++) {
    const a = text.charCodeAt(i);
    const b = text.charCodeAt(i + 1);
    if (a !== SPACE && b !== SPACE) out.add(gram(a, b));
  }
}

function cjkCharsOf(text: string, out: Set<number>): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isCjkUnit(c)) out.add(c);
  }
}

/**
 * The typo vocabulary: words of letters only. Words with digits ("90d", "4242") are left out: a digit
 * edit is never a typo here, and numbered tag names would otherwise make the vocabulary as large as the
 * catalog.
 */
function wordsOf(text: string, out: Set<string>): void {
  let start = 0;
  let letters = true;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : SPACE;
    if (c === SPACE) {
      if (i > start && letters) out.add(text.slice(start, i));
      start = i + 1;
      letters = true;
    } else if ((c >= 48 && c <= 57) || isCjkUnit(c)) letters = false;
  }
}

/** A growable list of document slots. Order does not matter, so removal swaps in the last element. */
class Postings {
  ids = new Int32Array(4);
  n = 0;
  add(id: number): void {
    if (this.n === this.ids.length) {
      const grown = new Int32Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[this.n++] = id;
  }
  remove(id: number): void {
    const ids = this.ids;
    for (let i = 0; i < this.n; i++) {
      if (ids[i] === id) {
        ids[i] = ids[--this.n]!;
        return;
      }
    }
  }
}

/** A document's normalised fields; what it is indexed under is recomputed from them when it is removed. */
interface NormDoc {
  readonly name: string;
  readonly displayName: string;
  readonly description: string;
}

export interface SearchableText {
  readonly name: string;
  readonly displayName: string;
  readonly description: string;
}

export interface ScoredSlot {
  readonly slot: number;
  readonly score: number;
}

export class TextIndex {
  private readonly docs: (NormDoc | undefined)[] = [];
  private readonly bigrams = new Map<number, Postings>();
  private readonly chars = new Map<number, Postings>();
  private readonly vocab = new Map<string, Postings>();
  /** Vocabulary words grouped by length, rebuilt lazily after the vocabulary changes. */
  private vocabByLength: string[][] | null = null;
  // Scratch per-slot counters for one search (always left all-zero).
  private counts = new Int32Array(0);
  private rounds = new Int32Array(0);

  get size(): number {
    return this.docs.length;
  }

  set(slot: number, text: SearchableText): void {
    this.remove(slot);
    const doc: NormDoc = {
      name: normalizeText(text.name),
      displayName: normalizeText(text.displayName),
      description: normalizeText(text.description.slice(0, DESCRIPTION_INDEX_CHARS)),
    };
    this.docs[slot] = doc;
    const { bigrams, chars, words } = keysOf(doc);
    for (const g of bigrams) postingsFor(this.bigrams, g).add(slot);
    for (const c of chars) postingsFor(this.chars, c).add(slot);
    for (const w of words) {
      if (!this.vocab.has(w)) this.vocabByLength = null;
      postingsFor(this.vocab, w).add(slot);
    }
  }

  remove(slot: number): void {
    const doc = this.docs[slot];
    if (!doc) return;
    this.docs[slot] = undefined;
    const { bigrams, chars, words } = keysOf(doc);
    for (const g of bigrams) dropFrom(this.bigrams, g, slot);
    for (const c of chars) dropFrom(this.chars, c, slot);
    for (const w of words) {
      if (dropFrom(this.vocab, w, slot)) this.vocabByLength = null;
    }
  }

  /**
   * Slots matching every term of `query`, scored, unsorted. `accept` filters (attribute filters run
   * before scoring, so selective filters make text search cheaper).
   */
  search(query: string, accept: (slot: number) => boolean): ScoredSlot[] {
    const out: ScoredSlot[] = [];
    this.forEachMatch(query, accept, (slot, score) => out.push({ slot, score }));
    return out;
  }

  /** As `search`, handing each match to `found` (no intermediate array). */
  forEachMatch(query: string, accept: (slot: number) => boolean, found: (slot: number, score: number) => void): void {
    const phrase = normalizeText(query);
    const plans = [...new Set(phrase.split(" ").filter((t) => t !== ""))].map((t) => this.plan(t));
    if (plans.length === 0) return;
    const consider = (slot: number): void => {
      const doc = this.docs[slot];
      if (!doc || !accept(slot)) return;
      const score = scoreDoc(doc, plans, phrase);
      if (score > 0) found(slot, score);
    };
    // Round r keeps the documents every one of the first r narrowing terms admitted: `rounds[s] === r`.
    this.grow();
    const rounds = this.rounds;
    const touched: number[] = [];
    let narrowing = 0;
    // Most selective term first; once few candidates remain, scoring them beats reading more postings
    // (every term is checked by scoreDoc anyway, so each round only has to keep a superset).
    const order = plans.filter((p) => p.narrows).sort((a, b) => this.estimate(a) - this.estimate(b));
    for (const plan of order) {
      if (narrowing > 0 && touched.length <= FEW_CANDIDATES) break;
      const r = narrowing;
      this.admitCandidates(plan, (s) => {
        if (rounds[s] !== r) return;
        rounds[s] = r + 1;
        if (r === 0) touched.push(s);
      });
      narrowing++;
    }
    if (narrowing === 0) {
      for (let slot = 0; slot < this.docs.length; slot++) consider(slot);
      return;
    }
    for (const s of touched) {
      if (rounds[s] === narrowing) consider(s);
      rounds[s] = 0;
    }
  }

  private grow(): void {
    if (this.counts.length < this.docs.length) {
      const n = Math.max(1024, this.docs.length * 2);
      this.counts = new Int32Array(n);
      this.rounds = new Int32Array(n);
    }
  }

  /** An upper bound of a term's exact candidates: its rarest bigram's postings (typo candidates aside). */
  private estimate(plan: TermPlan): number {
    let least = Infinity;
    for (const g of plan.bigrams) least = Math.min(least, this.bigrams.get(g)?.n ?? 0);
    return least;
  }

  /** What one term needs, worked out once per query. */
  private plan(term: string): TermPlan {
    const k = maxTypos(term);
    const bigrams = new Set<number>();
    bigramsOf(term, bigrams);
    const chars = new Set<number>();
    cjkCharsOf(term, chars);
    // One character: no bigram to look up, and it may hit any description, so scan. A CJK term whose
    // characters could all be typos cannot narrow by them either.
    const narrows = bigrams.size > 0 && !(k > 0 && chars.size > 0 && chars.size - k <= 0);
    const near = k > 0 && chars.size === 0 ? this.vocabularyNear(term, k) : null;
    const textBigrams = new Set<string>();
    for (let i = 0; i + 1 < term.length; i++) textBigrams.add(term.slice(i, i + 2));
    return { term, k, bigrams, chars, near, narrows, textBigrams: [...textBigrams] };
  }

  /** Calls `admit` for every candidate slot of a narrowing term (a slot may come more than once). */
  private admitCandidates(plan: TermPlan, admit: (slot: number) => void): void {
    this.atLeast(this.bigrams, plan.bigrams, plan.bigrams.size, admit);
    if (plan.k === 0) return;
    if (plan.chars.size > 0) this.atLeast(this.chars, plan.chars, plan.chars.size - plan.k, admit);
    for (const word of plan.near?.keys() ?? []) {
      const p = this.vocab.get(word)!;
      for (let i = 0; i < p.n; i++) admit(p.ids[i]!);
    }
  }

  /** Admits the slots found under at least `need` of `keys` in `index`. */
  private atLeast(index: Map<number, Postings>, keys: ReadonlySet<number>, need: number, admit: (slot: number) => void): void {
    this.grow();
    const counts = this.counts;
    const touched: number[] = [];
    for (const key of keys) {
      const p = index.get(key);
      if (!p) continue;
      const ids = p.ids;
      for (let i = 0; i < p.n; i++) {
        const s = ids[i]!;
        if (counts[s]++ === 0) touched.push(s);
      }
    }
    for (const s of touched) {
      if (counts[s]! >= need) admit(s);
      counts[s] = 0;
    }
  }

  /** Vocabulary words within k typos of the term (as a prefix: "custmr" ≈ "customer"), with their distance. */
  private vocabularyNear(term: string, k: number): Map<string, number> {
    if (this.vocabByLength === null) {
      const byLength: string[][] = [];
      for (const w of this.vocab.keys()) (byLength[w.length] ??= []).push(w);
      this.vocabByLength = byLength;
    }
    const out = new Map<string, number>();
    // A word can match the term within k edits only if it is at least |term| - k long (free end).
    for (let len = Math.max(1, term.length - k); len < this.vocabByLength.length; len++) {
      for (const w of this.vocabByLength[len] ?? []) {
        const d = prefixDistance(term, w, k);
        if (d <= k) out.set(w, d);
      }
    }
    return out;
  }
}

/** One query term and what searching for it needs. */
interface TermPlan {
  readonly term: string;
  /** Typos tolerated. */
  readonly k: number;
  readonly bigrams: ReadonlySet<number>;
  /** Its CJK characters. */
  readonly chars: ReadonlySet<number>;
  /** Latin terms with k > 0: vocabulary words within k typos, with their distance. */
  readonly near: ReadonlyMap<string, number> | null;
  /** Whether the index can narrow its candidates (else the search scans). */
  readonly narrows: boolean;
  /** Its distinct bigrams as strings (for CJK phrase coverage). */
  readonly textBigrams: readonly string[];
}

function keysOf(doc: NormDoc): { bigrams: Set<number>; chars: Set<number>; words: Set<string> } {
  const bigrams = new Set<number>();
  bigramsOf(doc.name, bigrams);
  bigramsOf(doc.displayName, bigrams);
  bigramsOf(doc.description, bigrams);
  const chars = new Set<number>();
  cjkCharsOf(doc.name, chars);
  cjkCharsOf(doc.displayName, chars);
  const words = new Set<string>();
  wordsOf(doc.name, words);
  wordsOf(doc.displayName, words);
  return { bigrams, chars, words };
}

function postingsFor<K>(map: Map<K, Postings>, key: K): Postings {
  let p = map.get(key);
  if (!p) map.set(key, (p = new Postings()));
  return p;
}

/** Returns true when the key's postings became empty (and were dropped). */
function dropFrom<K>(map: Map<K, Postings>, key: K, slot: number): boolean {
  const p = map.get(key);
  if (!p) return false;
  p.remove(slot);
  if (p.n === 0) {
    map.delete(key);
    return true;
  }
  return false;
}

/**
 * A document's score for all terms (0: some term matches nowhere). Exact matches are looked for in all
 * three fields; typos and non-contiguous CJK phrases only in name and display name, which is where the
 * typo candidates come from and keeps the costly comparisons off long descriptions.
 */
function scoreDoc(doc: NormDoc, plans: readonly TermPlan[], phrase: string): number {
  let total = 0;
  for (const plan of plans) {
    const term = plan.term;
    let best = WEIGHT.name * exactScore(term, doc.name);
    if (best < SCORE.exact) best = Math.max(best, WEIGHT.displayName * exactScore(term, doc.displayName));
    if (best < SCORE.substring * WEIGHT.description) best = Math.max(best, WEIGHT.description * exactScore(term, doc.description));
    if (best === 0 && plan.k > 0) {
      best = plan.near
        ? Math.max(WEIGHT.name * nearWordScore(plan.near, doc.name), WEIGHT.displayName * nearWordScore(plan.near, doc.displayName))
        : Math.max(WEIGHT.name * fuzzyScore(plan, doc.name), WEIGHT.displayName * fuzzyScore(plan, doc.displayName));
    }
    if (best === 0) return 0;
    total += best;
  }
  if (plans.length > 1 || phrase !== plans[0]!.term) {
    if (doc.name === phrase || doc.displayName === phrase) total += PHRASE_BONUS.exact;
    else if (doc.name.includes(phrase) || doc.displayName.includes(phrase) || doc.description.includes(phrase)) {
      total += PHRASE_BONUS.contains;
    }
  } else if (doc.name === phrase || doc.displayName === phrase) {
    total += PHRASE_BONUS.exact;
  }
  return total;
}

/**
 * A Latin term's typo score in one field: the closest vocabulary word (found once per query) that the
 * field holds as a whole word. Cheaper than an alignment per document, and the same words that made the
 * document a candidate.
 */
function nearWordScore(near: ReadonlyMap<string, number>, field: string): number {
  let best = Infinity;
  for (const [word, d] of near) {
    if (d < best && hasWord(field, word)) best = d;
  }
  return best === 1 ? SCORE.typo1 : best === 2 ? SCORE.typo2 : 0;
}

function hasWord(field: string, word: string): boolean {
  for (let at = field.indexOf(word); at >= 0; at = field.indexOf(word, at + 1)) {
    const end = at + word.length;
    if ((at === 0 || field.charCodeAt(at - 1) === SPACE) && (end === field.length || field.charCodeAt(end) === SPACE)) return true;
  }
  return false;
}

/** One term against one normalised field, exactly: whole field, prefix, word start or substring; else 0. */
function exactScore(term: string, field: string): number {
  if (field === "") return 0;
  if (field === term) return SCORE.exact;
  const at = field.indexOf(term);
  if (at === 0) return SCORE.prefix;
  if (at < 0) return 0;
  const before = field.charCodeAt(at - 1);
  return before === SPACE || isCjkUnit(term.charCodeAt(0)) !== isCjkUnit(before) ? SCORE.wordStart : SCORE.substring;
}

/** A term's typo score in one field by alignment (CJK terms; Latin ones use `nearWordScore`). */
function fuzzyScore(plan: TermPlan, field: string): number {
  // More CJK characters than typos: a field without any cannot match.
  if (field === "" || (plan.chars.size > plan.k && !isCjk(field))) return 0;
  const d = substringDistance(plan.term, field, plan.k);
  if (d <= plan.k) return d === 1 ? SCORE.typo1 : SCORE.typo2;
  return plan.chars.size > 0 ? bigramCoverageScore(plan.textBigrams, field) : 0;
}

/**
 * Chinese is typed as phrases without spaces, and a phrase may skip words the field has in between
 * ("近90天消费" for "近90天APP消费金额"). Such a term still scores when most of its bigrams occur in the
 * field, below any contiguous match.
 */
function bigramCoverageScore(grams: readonly string[], field: string): number {
  if (grams.length === 0) return 0;
  let hit = 0;
  for (const g of grams) if (field.includes(g)) hit++;
  const share = hit / grams.length;
  return share >= CJK_COVERAGE_MIN ? Math.round(SCORE.typo2 + (SCORE.typo1 - SCORE.typo2) * share) : 0;
}

/**
 * One edit costs 1, but 2 when it touches a digit: "spend_30d" for "spend_90d" is another tag, not a typo.
 */
function editCost(a: number, b: number): number {
  return (a >= 48 && a <= 57) || (b >= 48 && b <= 57) ? 2 : 1;
}

// Scratch rows for the distance functions (terms are short; grown on demand, never shrunk).
let rowA = new Int32Array(64);
let rowB = new Int32Array(64);
let rowC = new Int32Array(64);
function ensureRows(n: number): void {
  if (rowA.length < n) {
    rowA = new Int32Array(n * 2);
    rowB = new Int32Array(n * 2);
    rowC = new Int32Array(n * 2);
  }
}

/**
 * Smallest optimal-string-alignment distance (Levenshtein plus adjacent transposition; digit edits cost 2)
 * between `p` and any substring of `t` (Sellers' free-start, free-end variant); k + 1 when above k.
 * Columns run over `t`; the free start is a zero in row 0 of every column.
 *
 * Ukkonen's cut-off: values are capped at k + 1 (exact wherever they are ≤ k, as costs are non-negative),
 * and a column is computed only down to the rows that can still be ≤ k: one below the previous column's
 * last active row (diagonal, deletion), two below the one before (transposition), and further down only
 * while the rows just computed stay ≤ k. Rows left uncomputed read as k + 1. That makes a candidate cost
 * O(k·|t|) instead of O(|p|·|t|).
 */
export function substringDistance(p: string, t: string, k: number): number {
  const m = p.length;
  const cap = k + 1;
  ensureRows(m + 1);
  let prev2 = rowA;
  let prev = rowB;
  let cur = rowC;
  prev[0] = 0;
  for (let i = 1; i <= m; i++) prev[i] = Math.min(cap, prev[i - 1]! + editCost(p.charCodeAt(i - 1), p.charCodeAt(i - 1)));
  let best = prev[m]!;
  let prevTop = m; // rows 0..prevTop of `prev` are computed
  let prev2Top = -1;
  let lact = 0; // last row ≤ k in `prev`
  while (lact < m && prev[lact + 1]! <= k) lact++;
  let lact2 = -2;
  for (let j = 1; j <= t.length; j++) {
    const tj = t.charCodeAt(j - 1);
    const tPrev = j > 1 ? t.charCodeAt(j - 2) : -1;
    const reach = Math.min(m, Math.max(lact + 1, lact2 + 2));
    cur[0] = 0;
    let i = 1;
    for (; i <= m; i++) {
      if (i > reach && cur[i - 1]! > k) break;
      const pi = p.charCodeAt(i - 1);
      const diag = i - 1 <= prevTop ? prev[i - 1]! : cap;
      const up = i <= prevTop ? prev[i]! : cap;
      let v = diag + (pi === tj ? 0 : editCost(pi, tj));
      const del = cur[i - 1]! + editCost(pi, pi);
      if (del < v) v = del;
      const ins = up + editCost(tj, tj);
      if (ins < v) v = ins;
      if (i > 1 && tPrev === pi && p.charCodeAt(i - 2) === tj) {
        const tr = (i - 2 <= prev2Top ? prev2[i - 2]! : cap) + editCost(pi, tj);
        if (tr < v) v = tr;
      }
      cur[i] = v < cap ? v : cap;
    }
    const curTop = i - 1;
    if (curTop === m && cur[m]! < best) {
      best = cur[m]!;
      if (best === 0) return 0;
    }
    lact2 = lact;
    lact = curTop;
    while (lact > 0 && cur[lact]! > k) lact--;
    prev2Top = prevTop;
    prevTop = curTop;
    const spare = prev2;
    prev2 = prev;
    prev = cur;
    cur = spare;
  }
  return best <= k ? best : k + 1;
}

/** Smallest OSA distance between `p` and a prefix of `w` (free end in `w`); k + 1 when above k. */
export function prefixDistance(p: string, w: string, k: number): number {
  const m = p.length;
  ensureRows(m + 1);
  let prev2 = rowA;
  let prev = rowB;
  let cur = rowC;
  prev[0] = 0;
  for (let i = 1; i <= m; i++) prev[i] = prev[i - 1]! + editCost(p.charCodeAt(i - 1), p.charCodeAt(i - 1));
  let best = prev[m]!;
  let lastColMin = 0;
  for (let j = 1; j <= w.length; j++) {
    const wj = w.charCodeAt(j - 1);
    cur[0] = prev[0]! + editCost(wj, wj);
    let colMin = cur[0];
    for (let i = 1; i <= m; i++) {
      const pi = p.charCodeAt(i - 1);
      let v = prev[i - 1]! + (pi === wj ? 0 : editCost(pi, wj));
      const del = cur[i - 1]! + editCost(pi, pi);
      if (del < v) v = del;
      const ins = prev[i]! + editCost(wj, wj);
      if (ins < v) v = ins;
      if (i > 1 && j > 1 && pi === w.charCodeAt(j - 2) && p.charCodeAt(i - 2) === wj) {
        const tr = prev2[i - 2]! + editCost(pi, wj);
        if (tr < v) v = tr;
      }
      cur[i] = v;
      if (v < colMin) colMin = v;
    }
    if (cur[m]! < best) best = cur[m]!;
    // A cell derives from the previous column (+0/+1) or, by transposition, from the one before (+1), so
    // once two neighbouring columns are both above k no later cell can come back to k.
    if (colMin > k && lastColMin > k) break;
    lastColMin = colMin;
    const spare = prev2;
    prev2 = prev;
    prev = cur;
    cur = spare;
  }
  return best <= k ? best : k + 1;
}
