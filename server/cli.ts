#!/usr/bin/env node
/**
 * `lasso <command> [args]`: dispatches to `server/commands/<name>.ts`, each exporting
 * `command = { name, summary, usage, run(argv) }`. Modules load lazily, so `lasso --help` or a quick
 * `lasso count` does not pay for the server, and one broken command cannot break the others.
 *
 *   lasso serve --data ./data --port 7600
 *   lasso count --help
 */
import { pathToFileURL } from "node:url";
import { realpathSync } from "node:fs";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Command } from "./commands/command.js";

export type { Command } from "./commands/command.js";

type Loader = () => Promise<{ command: Command }>;

/**
 * Every command, in help order. Add a line per new module in server/commands/.
 */
const COMMANDS: ReadonlyArray<readonly [string, Loader]> = [
  ["start", () => import("./commands/start.js")],
  ["serve", () => import("./commands/serve.js")],
  ["load", () => import("./commands/load.js")],
  ["count", () => import("./commands/count.js")],
  ["select", () => import("./commands/select.js")],
  ["explain", () => import("./commands/explain.js")],
  ["gen", () => import("./commands/gen.js")],
  ["tags", () => import("./commands/tags.js")],
  ["categories", () => import("./commands/categories.js")],
  ["users", () => import("./commands/users.js")],
  ["bench", () => import("./commands/bench.js")],
];

async function loadAll(): Promise<{ name: string; command?: Command; problem?: string }[]> {
  return Promise.all(
    COMMANDS.map(async ([name, load]) => {
      try {
        return { name, command: (await load()).command };
      } catch (e) {
        return { name, problem: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
}

export async function helpText(): Promise<string> {
  const all = await loadAll();
  const width = Math.max(...all.map((c) => c.name.length));
  const lines = all.map((c) => `  ${c.name.padEnd(width)}  ${c.command?.summary ?? `(unavailable: ${c.problem})`}`);
  return [
    "lasso — tag storage and exact segment queries",
    "",
    "Usage: lasso <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `lasso <command> --help` for a command's options.",
    "",
  ].join("\n");
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(await helpText());
    return EXIT_USAGE;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(await helpText());
    return EXIT_OK;
  }
  if (name === "--version" || name === "-v") {
    process.stdout.write(`${await version()}\n`);
    return EXIT_OK;
  }
  const entry = COMMANDS.find(([n]) => n === name);
  if (!entry) {
    process.stderr.write(`lasso: unknown command "${name}"\n\n${await helpText()}`);
    return EXIT_USAGE;
  }
  const { command } = await entry[1]();
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(command.usage.endsWith("\n") ? command.usage : command.usage + "\n");
    return EXIT_OK;
  }
  return command.run(rest);
}

async function version(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  // dist/server/cli.js and server/cli.ts both sit two levels under the package root.
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(await readFile(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "lasso") return pkg.version ?? "unknown";
    } catch {
      // try the next place
    }
  }
  return "unknown";
}

function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(arg)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`lasso: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
