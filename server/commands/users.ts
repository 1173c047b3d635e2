/**
 * `lasso users`: manage the catalog's users and API tokens offline (straight on `<data>/catalog.db`).
 * Whoever can write the data directory is the administrator, so these commands act as the offline
 * operator `cli` with the admin role; the audit log records them under that name.
 */
import { ROLES, ROLE_ACTIONS, TagCatalog, resolveDataDir, type Principal, type Role, type UserInfo } from "../../engine/catalog/index.js";
import { parseSubcommand, printJson, runCatalogCli } from "./catalog-cli.js";
import { EXIT_OK, UsageError, type Command } from "./command.js";

const OPERATOR: Principal = Object.freeze({ name: "cli", roles: Object.freeze(["admin"] as Role[]) });

const USAGE = `Usage: lasso users <subcommand> [options]

Manage users and API tokens of the tag catalog (offline, on DIR/catalog.db).
With no users the catalog is in open single-user mode: no tokens, loads publish tags at once.
Adding the first user switches to multi-user mode: requests need tokens, new tags need review.

Subcommands:
  add NAME --role R [--role R…]   add a user; prints its API token once (on stdout)
  list                            users, roles, token ids
  show NAME                       one user
  roles NAME --role R [--role R…] replace a user's roles
  disable NAME | enable NAME      block or allow a user's tokens
  rm NAME [--force]               remove a user (--force to remove the last one: back to open mode)
  token NAME                      issue another token for a user (printed once)
  revoke NAME TOKEN_ID            revoke one token

Options:
  --data DIR   data directory (default $LASSO_DATA or ./data)
  --json       print JSON
  -h, --help   this text

Roles (a user may hold several): ${ROLES.join(", ")}
${ROLES.map((r) => `  ${r.padEnd(10)} ${ROLE_ACTIONS[r].join(", ")}`).join("\n")}
`;

export const command: Command = {
  name: "users",
  summary: "manage catalog users and API tokens (offline)",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    return runCatalogCli("users", USAGE, () => main(argv));
  },
};

function main(argv: string[]): number {
  const options = {
    data: { type: "string" },
    role: { type: "string", multiple: true },
    force: { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  } as const;
  const arity = { add: 1, list: 0, show: 1, roles: 1, disable: 1, enable: 1, rm: 1, token: 1, revoke: 2 };
  const parsed = parseSubcommand(argv, options, USAGE, arity);
  if (!parsed) return EXIT_OK;
  const { values, sub, args } = parsed;
  const roles = (values.role ?? []).flatMap((r) => r.split(",")).map((r) => r.trim()) as Role[];
  if ((sub === "add" || sub === "roles") && roles.length === 0) throw new UsageError(`${sub} needs --role (one of ${ROLES.join(", ")})`);
  const json = values.json === true;
  const cat = TagCatalog.open({ dataDir: resolveDataDir(values.data), usageFlushMs: 0 });
  try {
    const name = args[0]!;
    switch (sub) {
      case "add": {
        const wasOpen = cat.openMode();
        const { user, token } = cat.addUser(name, roles, OPERATOR);
        if (json) printJson({ user, token });
        else {
          process.stderr.write(`added user ${user.name} (${user.roles.join(", ")}); its API token follows, shown only this once:\n`);
          process.stdout.write(`${token}\n`);
          if (wasOpen) process.stderr.write("the catalog is now in multi-user mode: requests need a token, new tags need review\n");
        }
        return EXIT_OK;
      }
      case "list": {
        const users = cat.listUsers();
        if (json) printJson(users);
        else if (users.length === 0) process.stdout.write("no users: open single-user mode\n");
        else for (const u of users) process.stdout.write(userLine(u));
        return EXIT_OK;
      }
      case "show":
        if (json) printJson(cat.user(name));
        else process.stdout.write(userLine(cat.user(name)));
        return EXIT_OK;
      case "roles":
        report(json, cat.setUserRoles(name, roles, OPERATOR), "roles set");
        return EXIT_OK;
      case "disable":
      case "enable":
        report(json, cat.setUserDisabled(name, sub === "disable", OPERATOR), `${sub}d`);
        return EXIT_OK;
      case "rm":
        cat.removeUser(name, OPERATOR, { force: values.force === true });
        if (json) printJson({ deleted: name });
        else process.stdout.write(`removed user ${name}${cat.openMode() ? " (no users left: open single-user mode)" : ""}\n`);
        return EXIT_OK;
      case "token": {
        const { token, info } = cat.issueToken(name, OPERATOR);
        if (json) printJson({ token, info });
        else {
          process.stderr.write(`new token ${info.id} for ${name}, shown only this once:\n`);
          process.stdout.write(`${token}\n`);
        }
        return EXIT_OK;
      }
      case "revoke": {
        const id = Number(args[1]);
        if (!Number.isSafeInteger(id) || id < 1) throw new UsageError(`TOKEN_ID must be a positive integer; got ${args[1]}`);
        cat.revokeToken(name, id, OPERATOR);
        if (json) printJson({ revoked: id });
        else process.stdout.write(`revoked token ${id} of ${name}\n`);
        return EXIT_OK;
      }
    }
    throw new UsageError(`unknown subcommand ${sub}`);
  } finally {
    cat.close();
  }
}

function userLine(u: UserInfo): string {
  const tokens = u.tokens.map((t) => `${t.id}:${t.hint}…`).join(" ");
  return `${u.name}\t${u.roles.join(",")}\t${u.disabled ? "disabled" : "enabled"}\ttokens: ${tokens || "none"}\n`;
}

function report(json: boolean, u: UserInfo, what: string): void {
  if (json) printJson(u);
  else process.stdout.write(`${what}: ${userLine(u)}`);
}
