/**
 * What the offline catalog commands (`lasso tags`, `categories`, `users`) share: a subcommand and its
 * arguments after the flags, `--help`, the mapping of failures to exit codes, and JSON output.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** What `parseSubcommand` gives back for options O. */
export interface Subcommand<O extends Options> {
  values: ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: O }>>["values"];
  sub: string;
  args: string[];
}
import { isLassoError } from "../../engine/errors.js";
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from "./command.js";

/** Runs a catalog command's `main`: a UsageError prints the usage (exit 2), a LassoError its code (exit 1). */
export function runCatalogCli(name: string, usage: string, main: () => number): number {
  try {
    return main();
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lasso ${name}: ${e.message}\n\n${usage}`);
      return EXIT_USAGE;
    }
    if (isLassoError(e)) {
      process.stderr.write(`lasso ${name}: ${e.code}: ${e.message}\n`);
      return EXIT_FAILURE;
    }
    throw e;
  }
}

/**
 * Flags, then `SUB ARGS…`. Null when --help was asked (the usage is printed). With `arity`, the
 * subcommand must be one of its keys and take exactly that many arguments.
 */
export function parseSubcommand<O extends Options>(
  argv: string[],
  options: O,
  usage: string,
  arity?: Readonly<Record<string, number>>,
): Subcommand<O> | null {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if ((values as Record<string, unknown>)["help"]) {
    process.stdout.write(usage);
    return null;
  }
  const [sub, ...args] = positionals;
  if (sub === undefined) throw new UsageError("missing subcommand");
  if (arity) {
    const want = arity[sub];
    if (want === undefined) throw new UsageError(`unknown subcommand ${sub}`);
    if (args.length !== want) throw new UsageError(`${sub} takes ${want} argument${want === 1 ? "" : "s"}`);
  }
  return { values, sub, args };
}

export function printJson(x: unknown): void {
  process.stdout.write(`${JSON.stringify(x, null, 2)}\n`);
}

