import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GRADES, TAG_STATUSES, type TagCatalog, type TagQuery, type TagView } from "../../engine/catalog/index.js";
import { TextIndex, normalizeText, prefixDistance, substringDistance } from "../../engine/catalog/search.js";
import { fixtureTags, loadFixture, rng, type FixtureTag } from "./fixture.js";
import { cleanupDirs, openCatalog, tempDir, who } from "./helpers.js";

let cat: TagCatalog;
let tags: FixtureTag[];
let categoryIds: Map<string, number>;

beforeAll(() => {
  tags = fixtureTags();
  const coverage = new Map(tags.map((t) => [t.name, t.coverage]));
  cat = openCatalog(tempDir(), { coverage: (_e, t) => coverage.get(t) });
  categoryIds = loadFixture(cat, tags);
  // Some lifecycle and usage variety for the filters.
  cat.addUser("ada", ["admin"], null);
  const ada = who("ada", "admin");
  cat.transitionTag("user", "churned", "deprecated", { actor: ada, reason: "use churn_risk_score" });
  cat.transitionTag("user", "fraud_risk", "deprecated", { actor: ada, reason: "x" });
  cat.transitionTag("user", "fraud_risk", "disabled", { actor: ada, reason: "x" });
  cat.registerLoadedTags("user", [{ name: "draft_tag", type: "bool" }], "later load", "ada");
  cat.registerLoadedTags("store", [{ name: "region", type: "enum" }, { name: "store_age", type: "int" }], "stores", "ada");
  for (let i = 0; i < 5; i++) cat.recordQuery("user", ["age", "city"]);
  cat.recordQuery("user", ["spend_90d"]);
  cat.flushUsage();
  cat.recordQuery("user", ["age"]); // pending, not yet flushed: still counted
  cat.rateTag("user", "age", { stars: 5 }, ada);
  cat.rateTag("user", "city", { stars: 2, comment: "stale" }, ada);
});
afterAll(() => {
  cat.close();
  cleanupDirs();
});

const top = (q: string, n = 1, extra: TagQuery = {}) => cat.searchTags({ q, limit: n, ...extra }).items.map((t) => t.name);

describe("search quality on the fixture catalog", () => {
  // [query, tags expected among the first `within` results]
  const expectations: [string, string[], number][] = [
    ["age", ["age"], 1],
    ["年龄", ["age"], 1],
    ["城市", ["city"], 1],
    ["城市", ["city", "city_tier", "work_city"], 3],
    ["churn", ["churned", "churn_risk_score"], 2],
    ["流失", ["churned", "churn_risk_score"], 2],
    ["客单价", ["avg_order_value"], 1],
    ["最近下单", ["last_order_at"], 1],
    ["last order", ["last_order_at"], 1],
    ["lastOrder", ["last_order_at"], 1],
    ["LAST_ORDER_AT", ["last_order_at"], 1],
    ["interes", ["interests"], 1], // prefix
    ["spend 90", ["spend_90d"], 1],
    ["近90天消费", ["spend_90d"], 1],
    ["近90天消费", ["spend_90d_app", "spend_90d_web", "spend_90d_mini", "spend_90d_store"], 5], // words skipped
    ["小程序 订单", ["orders_7d_mini", "orders_30d_mini", "orders_90d_mini", "orders_180d_mini"], 4],
    ["visits 7d web", ["visits_7d_web"], 1],
    ["积分", ["loyalty_points", "points_expiring_30d"], 2],
    ["宠物", ["pref_pets", "pet_owner"], 2],
    ["lifetime", ["lifetime_value"], 1],
    ["high value", ["high_value"], 1],
    ["会员", ["member_level"], 2],
    ["ＡＰＰ版本", ["app_version"], 1], // full-width letters (NFKC)
    // typos
    ["chrned", ["churned"], 1],
    ["hgih value", ["high_value"], 1],
    ["loyality points", ["loyalty_points"], 1],
    ["ordres 30d", ["orders_30d"], 1],
    ["custmer", [], 0],
    ["intrests", ["interests"], 1],
    ["commute distnce", ["commute_distance_km"], 1],
    ["消废金额", ["spend_7d", "spend_30d", "spend_90d", "spend_180d"], 20],
    ["生命周其价值", ["lifetime_value"], 1],
  ];
  it.each(expectations)("%s → %j within the first %i", (q, expected, within) => {
    const got = top(q, Math.max(within, 1));
    if (within === 0) expect(got).toEqual([]);
    else expect(got).toEqual(expect.arrayContaining(expected));
  });

  it("does not treat a changed number as a typo", () => {
    expect(top("spend 90d", 50)).not.toContain("spend_30d");
    expect(top("orders_30d", 50)).toEqual(expect.arrayContaining(["orders_30d"]));
    expect(top("orders_30d", 50)).not.toContain("orders_90d");
  });

  it("ranks exact over prefix over substring over typo", () => {
    const r = cat.searchTags({ q: "age", limit: 50 }).items;
    expect(r[0]!.name).toBe("age");
    const scores = r.map((t) => t.score!);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(r.map((t) => t.name)).toContain("store_age"); // other entities too, unless filtered
    expect(top("age", 50, { entity: "store" })).toEqual(["store_age"]);
  });

  it("finds every tag by a random substring of its name or display name (recall, seeded)", () => {
    const seed = 20250131;
    const rand = rng(seed);
    for (let i = 0; i < 200; i++) {
      const t = tags[Math.floor(rand() * tags.length)]!;
      const field = normalizeText(rand() < 0.5 ? t.name : t.displayName);
      const len = 2 + Math.floor(rand() * Math.min(6, field.length - 1));
      const start = Math.floor(rand() * (field.length - len + 1));
      const q = field.slice(start, start + len).trim();
      if (q.length < 2) continue;
      const names = cat.searchTags({ q, limit: 500 }).items.map((x) => x.name);
      expect(names, `seed ${seed}, query ${JSON.stringify(q)} for ${t.name}`).toContain(t.name);
    }
  });

  it("finds a tag by its name with one letter typo'd (recall, seeded)", () => {
    const seed = 77;
    const rand = rng(seed);
    const letters = "abcdefghijklmnopqrstuvwxyz";
    let tried = 0;
    for (let i = 0; i < 400 && tried < 100; i++) {
      const t = tags[Math.floor(rand() * tags.length)]!;
      const word = t.name.split("_").find((w) => w.length >= 5 && /^[a-z]+$/.test(w));
      if (!word) continue;
      const pos = Math.floor(rand() * word.length);
      const kind = Math.floor(rand() * 3);
      const c = letters[Math.floor(rand() * 26)]!;
      const typo =
        kind === 0 ? word.slice(0, pos) + c + word.slice(pos + 1) : kind === 1 ? word.slice(0, pos) + word.slice(pos + 1) : word.slice(0, pos) + c + word.slice(pos);
      tried++;
      const names = cat.searchTags({ q: typo, limit: 500 }).items.map((x) => x.name);
      expect(names, `seed ${seed}: ${JSON.stringify(typo)} for ${t.name}`).toContain(t.name);
    }
    expect(tried).toBeGreaterThan(50);
  });

  it("handles SQL-like, empty, over-long and odd text without harm", () => {
    expect(cat.searchTags({ q: "'; DROP TABLE tags; --" }).total).toBe(0);
    expect(cat.searchTags({ q: "age' OR '1'='1" }).items.map((t) => t.name)).not.toContain("city");
    expect(cat.searchTags({ q: "%" }).total).toBe(0);
    expect(cat.searchTags({ q: "   " }).total).toBe(cat.searchTags({}).total);
    expect(() => cat.searchTags({ q: "x".repeat(201) })).toThrow(expect.objectContaining({ code: "bad_request" }));
    expect(cat.searchTags({ q: "😀🙃" }).total).toBe(0);
    expect(cat.stats().tags).toBe(tags.length + 3);
  });
});

describe("filters, sorting and paging (against a naive oracle)", () => {
  let all: TagView[];
  beforeAll(() => {
    all = cat.searchTags({ limit: 500 }).items as TagView[];
    expect(all).toHaveLength(tags.length + 3);
  });

  const cases: [string, TagQuery, (t: TagView) => boolean][] = [
    ["entity", { entity: "store" }, (t) => t.entity === "store"],
    ["status list", { status: ["deprecated", "disabled"] }, (t) => t.status === "deprecated" || t.status === "disabled"],
    ["grade", { grade: ["L3", "L4"] }, (t) => t.grade === "L3" || t.grade === "L4"],
    ["type", { type: ["bool"] }, (t) => t.type === "bool"],
    ["production", { productionType: ["model"] }, (t) => t.productionType === "model"],
    ["frequency", { updateFrequency: ["weekly"] }, (t) => t.updateFrequency === "weekly"],
    ["owner", { owner: "ada" }, (t) => t.owner === "ada"],
    ["uncategorized", { categoryId: null }, (t) => t.categoryId === null],
    ["coverage range", { coverageMin: 200_000, coverageMax: 500_000 }, (t) => t.coverage !== null && t.coverage >= 200_000 && t.coverage <= 500_000],
    ["used", { queryCountMin: 1 }, (t) => t.queryCount >= 1],
    ["rated", { ratingMin: 3 }, (t) => t.rating.average !== null && t.rating.average >= 3],
    ["combined", { grade: ["L1"], type: ["int"], coverageMin: 100_000 }, (t) => t.grade === "L1" && t.type === "int" && (t.coverage ?? -1) >= 100_000],
  ];
  it.each(cases)("%s", (_name, query, oracle) => {
    const got = cat.searchTags({ ...query, limit: 500 });
    const want = all.filter(oracle).map((t) => `${t.entity}.${t.name}`);
    expect(got.items.map((t) => `${t.entity}.${t.name}`)).toEqual(want);
    expect(got.total).toBe(want.length);
  });

  it("filters by category with and without its subtree", () => {
    const behaviour = categoryIds.get("行为 Behavior")!;
    const trade = categoryIds.get("行为 Behavior/交易 Transactions")!;
    const sub = cat.searchTags({ categoryId: behaviour, limit: 500 });
    expect(sub.total).toBe(tags.filter((t) => t.category[0] === "行为 Behavior").length);
    expect(cat.searchTags({ categoryId: behaviour, subtree: false }).total).toBe(0);
    expect(cat.searchTags({ categoryId: trade, subtree: false, limit: 500 }).items.every((t) => t.categoryPath[1] === "交易 Transactions")).toBe(true);
    expect(() => cat.searchTags({ categoryId: 99999 })).toThrow(expect.objectContaining({ code: "not_found" }));
  });

  it("combines text with filters", () => {
    const ints = cat.searchTags({ q: "age", type: ["int"], entity: "user", limit: 50 }).items;
    expect(ints[0]!.name).toBe("age");
    expect(ints.every((t) => t.type === "int" && t.entity === "user")).toBe(true);
    expect(ints.length).toBeLessThan(cat.searchTags({ q: "age", limit: 50 }).total);
    expect(cat.searchTags({ q: "spend", coverageMin: 500_000, limit: 500 }).items.every((t) => t.coverage! >= 500_000)).toBe(true);
  });

  it("sorts by every key, nulls last, and pages without overlap", () => {
    const byCount = cat.searchTags({ sort: "queryCount", limit: 3 }).items.map((t) => [t.name, t.queryCount]);
    expect(byCount).toEqual([["age", 6], ["city", 5], ["spend_90d", 1]]);
    const cov = cat.searchTags({ sort: "coverage", order: "asc", limit: 500 }).items.map((t) => t.coverage);
    const known = cov.filter((c): c is number => c !== null);
    expect(known).toEqual([...known].sort((a, b) => a - b));
    expect(cov.slice(known.length).every((c) => c === null)).toBe(true);
    expect(cat.searchTags({ sort: "rating", limit: 2 }).items.map((t) => t.name)).toEqual(["age", "city"]);
    const names = cat.searchTags({ sort: "name", limit: 500 }).items.map((t) => t.name);
    expect(names).toEqual([...names].sort());
    const pages = [0, 1, 2, 3].flatMap((p) => cat.searchTags({ sort: "name", offset: p * 70, limit: 70 }).items.map((t) => `${t.entity}.${t.name}`));
    expect(pages).toEqual(all.map((t) => `${t.entity}.${t.name}`).slice(0, 280));
    for (const sort of ["displayName", "createdAt", "updatedAt", "viewCount", "lastUsedAt"] as const) {
      expect(cat.searchTags({ sort, limit: 500 }).total).toBe(all.length);
    }
  });

  it("rejects bad filter values with the allowed ones named", () => {
    expect(() => cat.searchTags({ status: ["live" as never] })).toThrow(/status must be one of draft/);
    expect(() => cat.searchTags({ grade: ["L5" as never] })).toThrow(/grade must be one of L1/);
    expect(() => cat.searchTags({ limit: 501 })).toThrow(/limit/);
    expect(() => cat.searchTags({ coverageMin: -1 })).toThrow(/coverageMin/);
    expect(() => cat.searchTags({ usedSince: "yesterday" })).toThrow(/ISO 8601/);
  });
});

describe("stats", () => {
  it("counts per category, status, grade and production type", () => {
    const s = cat.stats();
    expect(s.tags).toBe(tags.length + 3);
    expect(s.byEntity).toEqual({ user: tags.length + 1, store: 2 });
    expect(s.byStatus).toEqual({ ...Object.fromEntries(TAG_STATUSES.map((x) => [x, 0])), published: tags.length - 2, deprecated: 1, disabled: 1, draft: 3 });
    const grades = Object.fromEntries(GRADES.map((g) => [g, 0]));
    for (const t of tags) grades[t.grade]!++;
    grades["L1"]! += 3;
    expect(s.byGrade).toEqual(grades);
    expect(s.byProductionType.model).toBe(tags.filter((t) => t.productionType === "model").length);
    const root = s.byCategory.find((c) => c.path.join("/") === "行为 Behavior")!;
    expect(root.directTags).toBe(0);
    expect(root.totalTags).toBe(tags.filter((t) => t.category[0] === "行为 Behavior").length);
    expect(s.uncategorized).toBe(3);
  });
});

describe("distance functions", () => {
  it("agree with a naive definition on random strings (seeded)", () => {
    const seed = 99;
    const rand = rng(seed);
    const alphabet = "abc1中文";
    const word = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join("");
    const cost = (a: string, b: string) => (/[0-9]/.test(a) || /[0-9]/.test(b) ? 2 : 1);
    const osa = (a: string, b: string): number => {
      const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? 0 : j === 0 ? 0 : 0)));
      for (let i = 0; i <= a.length; i++) d[i]![0] = a.slice(0, i).split("").reduce((s, c) => s + cost(c, c), 0);
      for (let j = 0; j <= b.length; j++) d[0]![j] = b.slice(0, j).split("").reduce((s, c) => s + cost(c, c), 0);
      for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
          const ai = a[i - 1]!;
          const bj = b[j - 1]!;
          let v = Math.min(d[i - 1]![j]! + cost(ai, ai), d[i]![j - 1]! + cost(bj, bj), d[i - 1]![j - 1]! + (ai === bj ? 0 : cost(ai, bj)));
          if (i > 1 && j > 1 && ai === b[j - 2] && a[i - 2] === bj) v = Math.min(v, d[i - 2]![j - 2]! + cost(ai, bj));
          d[i]![j] = v;
        }
      }
      return d[a.length]![b.length]!;
    };
    for (let i = 0; i < 300; i++) {
      const p = word(1 + Math.floor(rand() * 5));
      const t = word(Math.floor(rand() * 8));
      const k = 2;
      let bestSub = Infinity;
      for (let s = 0; s <= t.length; s++) for (let e = s; e <= t.length; e++) bestSub = Math.min(bestSub, osa(p, t.slice(s, e)));
      let bestPre = Infinity;
      for (let e = 0; e <= t.length; e++) bestPre = Math.min(bestPre, osa(p, t.slice(0, e)));
      expect(substringDistance(p, t, k), `seed ${seed}: ${p} in ${t}`).toBe(Math.min(bestSub, k + 1));
      expect(prefixDistance(p, t, k), `seed ${seed}: ${p} prefix of ${t}`).toBe(Math.min(bestPre, k + 1));
    }
  });
});

describe("the text index", () => {
  it("answers the same after updates, removals and odd queries as one built fresh (seeded)", () => {
    const seed = 4242;
    const rand = rng(seed);
    const docs = fixtureTags().map((t) => ({ name: t.name, displayName: t.displayName, description: t.description }));
    const live = new TextIndex();
    docs.forEach((d, i) => live.set(i, d));
    const current = new Map(docs.map((d, i) => [i, d]));
    const words = ["近30天", "消费", "orders", "app", "宠物", "refund", "city", "城市", "x", "年", "a年b", "90天", "30天 app", "  ", "积分 app"];
    for (let step = 0; step < 300; step++) {
      const slot = Math.floor(rand() * docs.length);
      const r = rand();
      if (r < 0.15) {
        live.remove(slot);
        current.delete(slot);
      } else if (r < 0.6) {
        const other = docs[Math.floor(rand() * docs.length)]!;
        const d = { name: docs[slot]!.name, displayName: other.displayName, description: rand() < 0.5 ? other.description : "" };
        live.set(slot, d);
        current.set(slot, d);
      } else {
        live.search(words[Math.floor(rand() * words.length)]!, () => rand() < 0.5);
      }
    }
    const fresh = new TextIndex();
    for (const [slot, d] of current) fresh.set(slot, d);
    const queries = [...words, "chrned", "ordres 30d", "消废金额", "近90天消费", "spend 90", "hgih value", "o", "的"];
    for (const q of queries) {
      const norm = (xs: { slot: number; score: number }[]) => [...xs].sort((a, b) => a.slot - b.slot);
      expect(norm(live.search(q, () => true)), `seed ${seed}: ${q}`).toEqual(norm(fresh.search(q, () => true)));
    }
  });
});

describe("paging deep into a large listing", () => {
  it("orders the same whether a page is kept by insertion or by a full sort", () => {
    const big = openCatalog(tempDir(), { coverage: (_e, t) => (t.length * 7919) % 1000 });
    try {
      const names = Array.from({ length: 2600 }, (_, i) => `t${(i * 7919) % 2600}_${i % 13}`);
      big.registerLoadedTags("user", names.map((name) => ({ name, type: "int" as const })), "bulk");
      const oracle = [...names].sort();
      for (const [offset, limit] of [[0, 500], [1700, 300], [1900, 200], [2400, 500]] as const) {
        const page = big.searchTags({ sort: "name", offset, limit });
        expect(page.total).toBe(2600);
        expect(page.items.map((t) => t.name), `offset ${offset}`).toEqual(oracle.slice(offset, offset + limit));
      }
      const byCoverage = (offset: number, limit: number) => big.searchTags({ sort: "coverage", offset, limit }).items.map((t) => t.name);
      expect(byCoverage(1950, 100)).toEqual(byCoverage(1500, 500).concat(byCoverage(2000, 50)).slice(450, 550));
      const q = big.searchTags({ q: "t1", limit: 500, offset: 1800 });
      expect(q.total).toBe(names.filter((n) => n.includes("t1")).length);
    } finally {
      big.close();
    }
  });
});
