/**
 * `lasso tags`: search, show and edit catalogued tags and move them through their lifecycle, offline
 * (straight on `<data>/catalog.db`; a running server notices the changes at its next request).
 * In multi-user mode every change names its actor with `--as USER`, whose roles and the review rules
 * apply exactly as over HTTP.
 */
import {
  GRADES,
  PRODUCTION_TYPES,
  SORT_KEYS,
  TAG_STATUSES,
  TAG_TYPES,
  UPDATE_FREQUENCIES,
  TagCatalog,
  resolveDataDir,
  type Principal,
  type SortKey,
  type TagDetail,
  type TagPatch,
  type TagQuery,
  type TagStatus,
  type TagView,
} from "../../engine/catalog/index.js";
import type { TagType } from "../../engine/expr/ast.js";
import { parseSubcommand, printJson, runCatalogCli, type Subcommand } from "./catalog-cli.js";
import { EXIT_OK, UsageError, type Command } from "./command.js";

/** Lifecycle verbs and the status each moves a tag to. */
const VERBS: Readonly<Record<string, TagStatus>> = {
  submit: "pending_review",
  approve: "published",
  reject: "draft",
  deprecate: "deprecated",
  disable: "disabled",
  reenable: "published",
};

const USAGE = `Usage: lasso tags <subcommand> [options]

Search and edit the tag catalog (offline, on DIR/catalog.db).

Subcommands:
  search [TEXT]                 fuzzy search (Chinese/English, typo tolerant) with filters; no TEXT lists
  show ENTITY NAME              a tag's attributes, usage and ratings
  create ENTITY NAME --type T   catalogue a tag before its data exists (a draft)
  set ENTITY NAME               change attributes (flags below)
  move ENTITY NAME… --category ID|none
  submit|approve|reject|deprecate|disable|reenable ENTITY NAME [--reason TEXT]
  transition ENTITY NAME --to STATUS [--reason TEXT]
  rate ENTITY NAME --stars 1-5 [--comment TEXT]
  stats                         counts per category, status, grade, production type
  audit [--tag NAME] [--entity E] [--actor A] [--action X] [--limit N]

Attribute flags (create, set):
  --display-name TEXT  --description TEXT  --category ID|none  --owner USER|none
  --frequency ${UPDATE_FREQUENCIES.join("|")}
  --grade ${GRADES.join("|")}   --production ${PRODUCTION_TYPES.join("|")}   --source TEXT

Search filters:
  --entity E  --status S[,S]  --type T[,T]  --grade G[,G]  --production P[,P]  --frequency F[,F]
  --owner U  --category ID|none  --coverage-min N  --coverage-max N  --used-min N
  --sort ${SORT_KEYS.join("|")}  --order asc|desc  --limit N (default 20)  --offset N

Options:
  --data DIR   data directory (default $LASSO_DATA or ./data)
  --as USER    who acts (required for changes once users exist; their roles apply)
  --json       print JSON
  -h, --help   this text
`;

export const command: Command = {
  name: "tags",
  summary: "search, edit and review catalogued tags (offline)",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    return runCatalogCli("tags", USAGE, () => main(argv));
  },
};

const OPTIONS = {
  data: { type: "string" },
  as: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  type: { type: "string" },
  to: { type: "string" },
  reason: { type: "string" },
  stars: { type: "string" },
  comment: { type: "string" },
  "display-name": { type: "string" },
  description: { type: "string" },
  category: { type: "string" },
  owner: { type: "string" },
  frequency: { type: "string" },
  grade: { type: "string" },
  production: { type: "string" },
  source: { type: "string" },
  entity: { type: "string" },
  status: { type: "string" },
  "coverage-min": { type: "string" },
  "coverage-max": { type: "string" },
  "used-min": { type: "string" },
  sort: { type: "string" },
  order: { type: "string" },
  limit: { type: "string" },
  offset: { type: "string" },
  tag: { type: "string" },
  actor: { type: "string" },
  action: { type: "string" },
} as const;

type Values = Subcommand<typeof OPTIONS>["values"];

function main(argv: string[]): number {
  const parsed = parseSubcommand(argv, OPTIONS, USAGE);
  if (!parsed) return EXIT_OK;
  const { values, sub, args } = parsed;
  const json = values.json === true;
  const cat = TagCatalog.open({ dataDir: resolveDataDir(values.data), usageFlushMs: 0 });
  try {
    const need = (n: number, what: string) => {
      if (args.length !== n) throw new UsageError(`${sub} takes ${what}`);
    };
    switch (sub) {
      case "search":
      case "list": {
        if (args.length > 1) throw new UsageError("search takes at most one TEXT (quote it)");
        const page = cat.searchTags(searchQuery(args[0], values));
        if (json) printJson(page);
        else {
          for (const t of page.items) process.stdout.write(tagLine(t));
          process.stdout.write(`(${page.items.length} of ${page.total})\n`);
        }
        return EXIT_OK;
      }
      case "show":
        need(2, "ENTITY NAME");
        show(json, cat.getTag(args[0]!, args[1]!, { countView: true }));
        return EXIT_OK;
      case "create": {
        need(2, "ENTITY NAME");
        if (values.type === undefined) throw new UsageError(`create needs --type (${TAG_TYPES.join(", ")})`);
        const actor = actorFor(cat, values.as);
        show(json, cat.createTag({ ...patchFrom(values), entity: args[0]!, name: args[1]!, type: values.type as TagType }, actor));
        return EXIT_OK;
      }
      case "set": {
        need(2, "ENTITY NAME");
        const actor = actorFor(cat, values.as);
        const current = cat.getTag(args[0]!, args[1]!);
        show(json, cat.updateTag(args[0]!, args[1]!, patchFrom(values), { actor, expectedVersion: current.version }));
        return EXIT_OK;
      }
      case "move": {
        if (args.length < 2) throw new UsageError("move takes ENTITY NAME…");
        if (values.category === undefined) throw new UsageError("move needs --category ID|none");
        const moved = cat.moveTags(args[0]!, args.slice(1), categoryArg(values.category), actorFor(cat, values.as));
        if (json) printJson({ moved });
        else process.stdout.write(`moved ${moved} tag${moved === 1 ? "" : "s"}\n`);
        return EXIT_OK;
      }
      case "transition":
      case "submit":
      case "approve":
      case "reject":
      case "deprecate":
      case "disable":
      case "reenable": {
        need(2, "ENTITY NAME");
        let to = VERBS[sub];
        if (sub === "transition") {
          if (values.to === undefined) throw new UsageError(`transition needs --to (${TAG_STATUSES.join(", ")})`);
          to = values.to as TagStatus;
        }
        const actor = actorFor(cat, values.as);
        const tag = cat.transitionTag(args[0]!, args[1]!, to!, { actor, reason: values.reason });
        if (json) printJson(tag);
        else process.stdout.write(`${tag.entity}.${tag.name} is now ${tag.status}\n`);
        return EXIT_OK;
      }
      case "rate": {
        need(2, "ENTITY NAME");
        if (values.stars === undefined) throw new UsageError("rate needs --stars 1-5");
        const tag = cat.rateTag(args[0]!, args[1]!, { stars: Number(values.stars), comment: values.comment }, actorFor(cat, values.as));
        if (json) printJson(tag);
        else process.stdout.write(`rated ${tag.entity}.${tag.name}: average ${tag.rating.average} of ${tag.rating.count}\n`);
        return EXIT_OK;
      }
      case "stats": {
        need(0, "no arguments");
        const s = cat.stats();
        if (json) printJson(s);
        else {
          process.stdout.write(`tags: ${s.tags}   categories: ${s.categories}   uncategorized: ${s.uncategorized}\n`);
          const line = (label: string, o: Readonly<Record<string, number>>) =>
            `${label}: ${Object.entries(o).map(([k, n]) => `${k} ${n}`).join(", ")}\n`;
          process.stdout.write(line("by entity", s.byEntity) + line("by status", s.byStatus) + line("by grade", s.byGrade));
          process.stdout.write(line("by production type", s.byProductionType) + line("by type", s.byType));
          for (const c of s.byCategory) process.stdout.write(`  ${c.path.join(" / ")}  [${c.id}]  ${c.directTags} direct, ${c.totalTags} total\n`);
        }
        return EXIT_OK;
      }
      case "audit": {
        need(0, "no arguments (use --tag, --entity, --actor, --action, --limit)");
        const entries = cat.audit({
          tag: values.tag,
          entity: values.entity,
          actor: values.actor,
          action: values.action,
          limit: values.limit === undefined ? undefined : intArg("--limit", values.limit),
        });
        if (json) printJson(entries);
        else {
          for (const e of entries) {
            const what = e.fromStatus || e.toStatus ? ` ${e.fromStatus ?? "∅"} → ${e.toStatus ?? "∅"}` : "";
            const target = e.entity ? `${e.entity}.${e.name}` : `${e.target} ${e.name}`;
            process.stdout.write(`${e.at}  ${e.actor}  ${e.action}  ${target}${what}${e.reason ? `  “${e.reason}”` : ""}\n`);
          }
        }
        return EXIT_OK;
      }
    }
    throw new UsageError(`unknown subcommand ${sub}`);
  } finally {
    cat.close();
  }
}

/** In open mode there is one actor (`local`); once users exist, changes need `--as USER`. */
function actorFor(cat: TagCatalog, as: string | undefined): Principal | null {
  if (cat.openMode()) return null;
  if (as === undefined) throw new UsageError("this catalog has users: name who acts with --as USER");
  return cat.principalFor(as);
}

function patchFrom(values: Values): TagPatch {
  const p: TagPatch = {};
  if (values["display-name"] !== undefined) p.displayName = values["display-name"];
  if (values.description !== undefined) p.description = values.description;
  if (values.category !== undefined) p.categoryId = categoryArg(values.category);
  if (values.owner !== undefined) p.owner = values.owner === "none" ? null : values.owner;
  if (values.frequency !== undefined) p.updateFrequency = values.frequency as TagPatch["updateFrequency"];
  if (values.grade !== undefined) p.grade = values.grade as TagPatch["grade"];
  if (values.production !== undefined) p.productionType = values.production as TagPatch["productionType"];
  if (values.source !== undefined) p.dataSource = values.source;
  return p;
}

function searchQuery(text: string | undefined, values: Values): TagQuery {
  const list = (s: string | undefined) => (s === undefined ? undefined : s.split(",").map((x) => x.trim()));
  const q: TagQuery = { limit: 20 };
  if (text !== undefined) q.q = text;
  if (values.entity !== undefined) q.entity = values.entity;
  if (values.status !== undefined) q.status = list(values.status) as TagQuery["status"];
  if (values.type !== undefined) q.type = list(values.type) as TagQuery["type"];
  if (values.grade !== undefined) q.grade = list(values.grade) as TagQuery["grade"];
  if (values.production !== undefined) q.productionType = list(values.production) as TagQuery["productionType"];
  if (values.frequency !== undefined) q.updateFrequency = list(values.frequency) as TagQuery["updateFrequency"];
  if (values.owner !== undefined) q.owner = values.owner;
  if (values.category !== undefined) q.categoryId = categoryArg(values.category);
  if (values["coverage-min"] !== undefined) q.coverageMin = intArg("--coverage-min", values["coverage-min"]);
  if (values["coverage-max"] !== undefined) q.coverageMax = intArg("--coverage-max", values["coverage-max"]);
  if (values["used-min"] !== undefined) q.queryCountMin = intArg("--used-min", values["used-min"]);
  if (values.sort !== undefined) q.sort = values.sort as SortKey;
  if (values.order !== undefined) {
    if (values.order !== "asc" && values.order !== "desc") throw new UsageError("--order is asc or desc");
    q.order = values.order;
  }
  if (values.limit !== undefined) q.limit = intArg("--limit", values.limit);
  if (values.offset !== undefined) q.offset = intArg("--offset", values.offset);
  return q;
}

function categoryArg(s: string): number | null {
  if (s === "none" || s === "root") return null;
  return intArg("--category", s);
}

function intArg(flag: string, s: string): number {
  if (!/^[0-9]{1,15}$/.test(s)) throw new UsageError(`${flag} must be a non-negative integer; got ${s}`);
  return Number(s);
}

function tagLine(t: TagView): string {
  const path = t.categoryPath.length ? t.categoryPath.join(" / ") : "(uncategorized)";
  const cov = t.coverage === null ? "" : `  ${t.coverage} entities`;
  return `${t.entity}.${t.name}\t${t.status}\t${t.displayName || "-"}\t${path}${cov}\n`;
}

function show(json: boolean, t: TagDetail): void {
  if (json) {
    printJson(t);
    return;
  }
  const rows: [string, unknown][] = [
    ["tag", `${t.entity}.${t.name} (${t.type})`],
    ["display name", t.displayName],
    ["description", t.description],
    ["category", t.categoryPath.length ? `${t.categoryPath.join(" / ")} [${t.categoryId}]` : "(uncategorized)"],
    ["status", `${t.status}${t.statusChangedBy ? ` (by ${t.statusChangedBy} at ${t.statusChangedAt})` : ""}`],
    ["owner", t.owner ?? "(none)"],
    ["grade", t.grade],
    ["production", t.productionType],
    ["update frequency", t.updateFrequency],
    ["data source", t.dataSource],
    ["coverage", t.coverage ?? "(unknown)"],
    ["usage", `${t.queryCount} queries, ${t.viewCount} views, last used ${t.lastUsedAt ?? "never"}`],
    ["rating", t.rating.count ? `${t.rating.average} from ${t.rating.count}` : "(none)"],
    ["created / updated", `${t.createdAt} / ${t.updatedAt} (version ${t.version})`],
  ];
  for (const [k, val] of rows) process.stdout.write(`${k.padEnd(18)} ${String(val)}\n`);
  for (const r of t.ratings) process.stdout.write(`  ${"★".repeat(r.stars)}${"☆".repeat(5 - r.stars)} ${r.user}: ${r.comment}\n`);
}
