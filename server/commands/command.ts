/**
 * The shape of a `lasso` subcommand module: `export const command: Command = { … }` in
 * server/commands/<name>.ts, listed once in server/cli.ts.
 */
export interface Command {
  readonly name: string;
  /** One line for `lasso --help`. */
  readonly summary: string;
  /** The full text of `lasso <name> --help`. */
  readonly usage: string;
  /** Returns the process exit code (`EXIT_OK`, `EXIT_FAILURE`, `EXIT_USAGE`). */
  run(argv: string[]): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** Bad flags or arguments. */
export const EXIT_USAGE = 2;

/** Bad flags or arguments: the command prints the message (and how to get help) and exits EXIT_USAGE. */
export class UsageError extends Error {}
