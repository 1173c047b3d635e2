/**
 * `lasso categories`: the tag tree (标签树), offline on `<data>/catalog.db`. Categories nest to any
 * depth; moves never create cycles; a category is deleted only when empty or with `--move-to`.
 */
import { TagCatalog, resolveDataDir, type CategoryNode, type Principal } from "../../engine/catalog/index.js";
import { parseSubcommand, printJson, runCatalogCli } from "./catalog-cli.js";
import { EXIT_OK, UsageError, type Command } from "./command.js";

const USAGE = `Usage: lasso categories <subcommand> [options]

The tag tree (offline, on DIR/catalog.db).

Subcommands:
  tree [--entity E] [--depth N]       the tree with direct / recursive tag counts
  show ID                             one category: path, children, its tags
  add NAME [--parent ID] [--description TEXT]
  rename ID NAME
  describe ID TEXT
  move ID --parent ID|root            (refused if it would make a cycle)
  rm ID [--move-to ID|root]           delete; a non-empty category needs --move-to for its tags and children

Options:
  --data DIR   data directory (default $LASSO_DATA or ./data)
  --as USER    who acts (required for changes once users exist)
  --json       print JSON
  -h, --help   this text
`;

export const command: Command = {
  name: "categories",
  summary: "the tag tree: list, add, rename, move, delete categories (offline)",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    return runCatalogCli("categories", USAGE, () => main(argv));
  },
};

function main(argv: string[]): number {
  const options = {
    data: { type: "string" },
    as: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    entity: { type: "string" },
    depth: { type: "string" },
    parent: { type: "string" },
    description: { type: "string" },
    "move-to": { type: "string" },
  } as const;
  const arity = { tree: 0, show: 1, add: 1, rename: 2, describe: 2, move: 1, rm: 1 };
  const parsed = parseSubcommand(argv, options, USAGE, arity);
  if (!parsed) return EXIT_OK;
  const { values, sub, args } = parsed;
  const json = values.json === true;
  const cat = TagCatalog.open({ dataDir: resolveDataDir(values.data), usageFlushMs: 0 });
  try {
    switch (sub) {
      case "tree": {
        const t = cat.tree({ entity: values.entity, depth: values.depth === undefined ? undefined : intArg("--depth", values.depth) });
        if (json) printJson(t);
        else {
          const out: string[] = [];
          const walk = (n: CategoryNode, indent: string) => {
            out.push(`${indent}${n.name}  [${n.id}]  ${n.directTags} direct, ${n.totalTags} total\n`);
            for (const c of n.children) walk(c, indent + "  ");
          };
          for (const r of t.roots) walk(r, "");
          out.push(`(uncategorized: ${t.uncategorized}; tags: ${t.totalTags})\n`);
          process.stdout.write(out.join(""));
        }
        return EXIT_OK;
      }
      case "show": {
        const c = cat.category(intArg("ID", args[0]!), { entity: values.entity, limit: 500 });
        if (json) printJson(c);
        else {
          process.stdout.write(`${c.path.map((p) => p.name).join(" / ")}  [${c.category.id}]  version ${c.category.version}\n`);
          if (c.category.description) process.stdout.write(`${c.category.description}\n`);
          process.stdout.write(`${c.category.directTags} direct tags, ${c.category.totalTags} in all\n`);
          for (const ch of c.category.children) process.stdout.write(`  ▸ ${ch.name} [${ch.id}]  ${ch.totalTags}\n`);
          for (const t of c.tags.items) {
            process.stdout.write(`  ${t.entity}.${t.name}\t${t.status}\t${t.displayName || "-"}${t.coverage === null ? "" : `\t${t.coverage}`}\n`);
          }
        }
        return EXIT_OK;
      }
      case "add": {
        const parentId = values.parent === undefined || values.parent === "root" ? null : intArg("--parent", values.parent);
        const c = cat.createCategory({ name: args[0]!, parentId, description: values.description }, actorFor(cat, values.as));
        if (json) printJson(c);
        else process.stdout.write(`added category ${c.name} [${c.id}]\n`);
        return EXIT_OK;
      }
      case "rename":
      case "describe":
      case "move": {
        const id = intArg("ID", args[0]!);
        const actor = actorFor(cat, values.as);
        const current = cat.category(id, { limit: 0 }).category;
        let patch: { name?: string; description?: string; parentId?: number | null };
        if (sub === "rename") patch = { name: args[1]! };
        else if (sub === "describe") patch = { description: args[1]! };
        else {
          if (values.parent === undefined) throw new UsageError("move needs --parent ID|root");
          patch = { parentId: values.parent === "root" ? null : intArg("--parent", values.parent) };
        }
        const c = cat.updateCategory(id, patch, { actor, expectedVersion: current.version });
        if (json) printJson(c);
        else process.stdout.write(`category [${c.id}] is now ${cat.category(c.id, { limit: 0 }).path.map((p) => p.name).join(" / ")}\n`);
        return EXIT_OK;
      }
      case "rm": {
        const id = intArg("ID", args[0]!);
        const raw = values["move-to"];
        const moveTo = raw === undefined ? undefined : raw === "root" ? null : intArg("--move-to", raw);
        const r = cat.deleteCategory(id, { actor: actorFor(cat, values.as), moveTo });
        if (json) printJson({ deleted: id, ...r });
        else process.stdout.write(`deleted category ${id} (moved ${r.movedTags} tags, ${r.movedCategories} subcategories)\n`);
        return EXIT_OK;
      }
    }
    throw new UsageError(`unknown subcommand ${sub}`);
  } finally {
    cat.close();
  }
}

function actorFor(cat: TagCatalog, as: string | undefined): Principal | null {
  if (cat.openMode()) return null;
  if (as === undefined) throw new UsageError("this catalog has users: name who acts with --as USER");
  return cat.principalFor(as);
}

function intArg(flag: string, s: string): number {
  if (!/^[0-9]{1,15}$/.test(s)) throw new UsageError(`${flag} must be a non-negative integer; got ${s}`);
  return Number(s);
}
