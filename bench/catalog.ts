/**
 * Tag catalog at platform scale: 100,000 tags in 2,000 categories (20 roots × 9 children × 10
 * grandchildren + the inner nodes), Chinese and English text. Measures what a UI and the query path pay:
 * opening the catalog (mirror + search index), fuzzy search p50/p99 by query kind, listing one category,
 * the whole tree, and the per-query lifecycle gate (`checkQueryTags`, 10 tags). Search is shown beside
 * the naive peer a catalog would otherwise use, a SQLite `LIKE '%…%'` scan over the same rows in the
 * same file, as a ratio (machines here are noisy; ratios are not).
 *
 *   node dist/bench/catalog.js [--tags 100000] [--categories 2000] [--json FILE]
 *
 * The rows are written straight into catalog.db with SQL (the catalog's own write path is one audited
 * transaction per edit, which is the point of it, and too slow to create 100,000 test rows with).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { Bench } from "tinybench";
import { TagCatalog } from "../engine/catalog/index.js";

export interface CatalogBenchOptions {
  tags?: number;
  categories?: number;
  seed?: number;
  /** ms per measured task (default 400). */
  time?: number;
  log?: (line: string) => void;
}

export interface CatalogBenchRow {
  /** What was measured, e.g. "search: typo (en)". */
  task: string;
  p50Ms: number;
  p99Ms: number;
  /** Results the call returned (search totals, tags listed), to show the work is real. */
  results?: number;
  /** The peer (SQLite LIKE scan) p50 for the same text, where there is one. */
  peerP50Ms?: number;
  /** peer p50 / ours: above 1 means the catalog is faster. */
  speedup?: number;
}

export interface CatalogBenchResult {
  tags: number;
  categories: number;
  /** TagCatalog.open on the full file: read every row, build the mirror and the search index. */
  openMs: number;
  rows: CatalogBenchRow[];
}

const METRICS: readonly [string, string][] = [
  ["orders", "订单数"], ["spend", "消费金额"], ["visits", "访问次数"], ["refunds", "退款次数"], ["coupons_used", "用券次数"],
  ["cart_adds", "加购次数"], ["page_views", "浏览量"], ["searches", "搜索次数"], ["reviews", "评价次数"], ["shares", "分享次数"],
  ["logins", "登录次数"], ["returns", "退货次数"], ["points_earned", "积分获取"], ["points_used", "积分使用"], ["complaints", "投诉次数"],
];
const WINDOWS = ["1d", "7d", "14d", "30d", "60d", "90d", "180d", "365d"];
const CHANNELS: readonly [string, string][] = [["app", "APP"], ["web", "网站"], ["mini", "小程序"], ["store", "门店"], ["call", "客服"]];
const PRODUCTS: readonly [string, string][] = [
  ["apparel", "服饰"], ["beauty", "美妆"], ["digital", "数码"], ["food", "食品"], ["home", "家居"], ["baby", "母婴"],
  ["books", "图书"], ["travel", "旅行"], ["sports", "运动"], ["pets", "宠物"], ["health", "保健"], ["wine", "酒水"],
];
const ROOTS = ["基础属性", "交易行为", "访问行为", "营销触达", "风险控制", "会员权益", "商品偏好", "渠道偏好", "内容互动", "客服服务",
  "地理位置", "设备信息", "社交关系", "财务能力", "生命周期", "价值分层", "活动参与", "售后服务", "物流履约", "实验分组"];

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes the synthetic catalog into `dir/catalog.db` (schema from TagCatalog, rows by bulk SQL). */
function buildFile(dir: string, nTags: number, nCategories: number, seed: number): { categoryIds: number[] } {
  TagCatalog.open({ dataDir: dir, usageFlushMs: 0 }).close();
  const db = new Database(join(dir, "catalog.db"));
  db.pragma("synchronous = OFF");
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const now = "2025-01-31T00:00:00.000Z";
  const categoryIds: number[] = [];
  db.transaction(() => {
    const ins = db.prepare("INSERT INTO categories (parent_id, name, description, created_at, updated_at) VALUES (?, ?, '', ?, ?)");
    const perRoot = Math.max(1, Math.floor(nCategories / ROOTS.length));
    const children = Math.max(1, Math.round(Math.sqrt(perRoot)));
    for (const root of ROOTS) {
      if (categoryIds.length >= nCategories) break;
      const r = Number(ins.run(null, root, now, now).lastInsertRowid);
      categoryIds.push(r);
      for (let c = 0; c < children && categoryIds.length < nCategories; c++) {
        const [en, zh] = PRODUCTS[c % PRODUCTS.length]!;
        const mid = Number(ins.run(r, `${zh} ${en} ${c}`, now, now).lastInsertRowid);
        categoryIds.push(mid);
        for (let g = 0; g < perRoot / children - 1 && categoryIds.length < nCategories; g++) {
          const [cen, czh] = CHANNELS[g % CHANNELS.length]!;
          categoryIds.push(Number(ins.run(mid, `${czh}${g} ${cen}`, now, now).lastInsertRowid));
        }
      }
    }
    while (categoryIds.length < nCategories) {
      categoryIds.push(Number(ins.run(null, `其他 ${categoryIds.length}`, now, now).lastInsertRowid));
    }
    const tag = db.prepare(
      `INSERT INTO tags (entity, name, display_name, description, type, category_id, update_frequency, data_source, grade,
         production_type, owner, status, created_at, updated_at, query_count, view_count)
       VALUES ('user', ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)`,
    );
    const types = ["int", "float", "bool", "enum"];
    const statuses = ["published", "published", "published", "published", "deprecated", "draft"];
    for (let i = 0; i < nTags; i++) {
      const [m, mzh] = pick(METRICS);
      const w = pick(WINDOWS);
      const [ch, chzh] = pick(CHANNELS);
      const [p, pzh] = pick(PRODUCTS);
      const days = w.slice(0, -1);
      tag.run(
        `${m}_${w}_${ch}_${p}_${i}`,
        `近${days}天${chzh}${pzh}${mzh}`,
        `${m.replace(/_/g, " ")} of ${p} ${ch === "store" ? "in stores" : `via ${ch}`} in the last ${days} days / 近${days}天${chzh}渠道${pzh}类${mzh}`,
        pick(types),
        categoryIds[i % categoryIds.length]!,
        pick(["daily", "weekly", "hourly"]),
        `dw.${m}_${p}`,
        pick(["L1", "L2", "L3", "L4"]),
        pick(["import", "sql", "rule", "model"]),
        pick(statuses),
        now,
        now,
        Math.floor(rand() * 1000),
        Math.floor(rand() * 100),
      );
    }
  })();
  db.close();
  return { categoryIds };
}

export async function runCatalogBench(opts: CatalogBenchOptions = {}): Promise<CatalogBenchResult> {
  const nTags = opts.tags ?? 100_000;
  const nCategories = opts.categories ?? 2_000;
  const seed = opts.seed ?? 42;
  const time = opts.time ?? 400;
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), "lasso-catalog-bench-"));
  try {
    log(`building ${nTags} tags in ${nCategories} categories`);
    const { categoryIds } = buildFile(dir, nTags, nCategories, seed);
    const t0 = performance.now();
    const coverage = (_e: string, t: string) => (t.length * 7919) % 1_000_000;
    const cat = TagCatalog.open({ dataDir: dir, usageFlushMs: 0, coverage });
    const openMs = performance.now() - t0;
    log(`opened in ${openMs.toFixed(0)} ms`);
    const peerDb = new Database(join(dir, "catalog.db"), { readonly: true });
    const peer = peerDb.prepare(
      `SELECT entity, name FROM tags WHERE name LIKE @q OR display_name LIKE @q OR description LIKE @q ORDER BY name LIMIT 50`,
    );
    const peerCount = peerDb.prepare("SELECT count(*) FROM tags WHERE name LIKE @q OR display_name LIKE @q OR description LIKE @q").pluck();

    const oneName = peerDb.prepare("SELECT name FROM tags WHERE id = ?").pluck().get(Math.ceil(nTags / 2)) as string;
    // [label, text, peer can answer it (a plain substring)?]
    const searches: [string, string, boolean][] = [
      ["search: word (en)", "refunds", true],
      ["search: two words (en)", "spend 90d", false],
      ["search: prefix (en)", "coup", true],
      ["search: typo (en)", "compliants", false],
      ["search: phrase (zh)", "近30天消费", true],
      ["search: word (zh)", "宠物", true],
      ["search: typo (zh)", "退款次树", false],
      ["search: one tag by its name", oneName, true],
      ["search: no match", "zebra crossing", true],
      ["search: + filters", "积分", true],
    ];
    const bench = new Bench({ time, warmupTime: Math.min(100, time / 4) });
    const results = new Map<string, number>();
    for (const [label, q] of searches) {
      const query = label.endsWith("filters")
        ? { q, grade: ["L3" as const, "L4" as const], status: ["published" as const], coverageMin: 1000, limit: 50 }
        : { q, limit: 50 };
      results.set(label, cat.searchTags(query).total);
      bench.add(label, () => {
        cat.searchTags(query);
      });
    }
    const peerResults = new Map<string, number>();
    for (const [label, q, plain] of searches) {
      if (!plain) continue;
      peerResults.set(`peer ${label}`, peerCount.get({ q: `%${q}%` }) as number);
      bench.add(`peer ${label}`, () => {
        peer.all({ q: `%${q}%` });
      });
    }
    const leaf = categoryIds[categoryIds.length - 1]!;
    const root = categoryIds[0]!;
    results.set("tree: one category (node, path, 50 tags + coverage)", cat.category(leaf).tags.items.length);
    bench.add("tree: one category (node, path, 50 tags + coverage)", () => {
      cat.category(leaf);
    });
    results.set("tree: one root, one level", cat.tree({ rootId: root, depth: 1 }).roots[0]!.children.length);
    bench.add("tree: one root, one level", () => {
      cat.tree({ rootId: root, depth: 1 });
    });
    results.set("tree: whole forest with counts", nCategories);
    bench.add("tree: whole forest with counts", () => {
      cat.tree();
    });
    const ten = cat.searchTags({ status: ["published", "deprecated"], limit: 10 }).items.map((t) => t.name);
    results.set("checkQueryTags: 10 tags", ten.length);
    bench.add("checkQueryTags: 10 tags", () => {
      cat.checkQueryTags("user", ten, { includeDrafts: false });
    });
    bench.add("recordQuery: 10 tags", () => {
      cat.recordQuery("user", ten);
    });
    bench.add("list: page 1 sorted by query count", () => {
      cat.searchTags({ sort: "queryCount", limit: 50 });
    });
    log("measuring");
    await bench.run();

    const stat = new Map<string, { p50: number; p99: number }>();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== "completed") throw new Error(`bench task ${task.name} ${r.state}`);
      stat.set(task.name, { p50: r.latency.p50, p99: r.latency.p99 });
    }
    const rows: CatalogBenchRow[] = [];
    for (const task of bench.tasks) {
      if (task.name.startsWith("peer ")) continue;
      const s = stat.get(task.name)!;
      const row: CatalogBenchRow = { task: task.name, p50Ms: s.p50, p99Ms: s.p99 };
      const n = results.get(task.name);
      if (n !== undefined) row.results = n;
      const p = stat.get(`peer ${task.name}`);
      if (p) {
        row.peerP50Ms = p.p50;
        row.speedup = p.p50 / s.p50;
      }
      rows.push(row);
    }
    peerDb.close();
    cat.close();
    return { tags: nTags, categories: nCategories, openMs, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatCatalogTable(r: CatalogBenchResult): string {
  const lines = [
    `tag catalog: ${r.tags.toLocaleString("en-US")} tags, ${r.categories.toLocaleString("en-US")} categories; open ${r.openMs.toFixed(0)} ms`,
    `${"task".padEnd(54)}${"p50 ms".padStart(10)}${"p99 ms".padStart(10)}${"results".padStart(9)}${"LIKE p50".padStart(10)}${"× LIKE".padStart(8)}`,
  ];
  for (const row of r.rows) {
    lines.push(
      row.task.padEnd(54) +
        row.p50Ms.toFixed(4).padStart(10) +
        row.p99Ms.toFixed(4).padStart(10) +
        String(row.results ?? "").padStart(9) +
        (row.peerP50Ms === undefined ? "" : row.peerP50Ms.toFixed(3)).padStart(10) +
        (row.speedup === undefined ? "" : row.speedup.toFixed(1)).padStart(8),
    );
  }
  return lines.join("\n");
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const json = arg("--json");
  const result = await runCatalogBench({
    tags: Number(arg("--tags") ?? 100_000),
    categories: Number(arg("--categories") ?? 2_000),
    log: (l) => console.error(l),
  });
  console.log(formatCatalogTable(result));
  if (json) {
    const machine = { node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length };
    writeFileSync(json, JSON.stringify({ bench: "catalog", date: new Date().toISOString(), machine, ...result }, null, 2));
    console.error(`wrote ${json}`);
  }
}
