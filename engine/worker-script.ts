/**
 * Where a worker thread's script is. Workers run compiled JS: from dist/ the caller's sibling; from
 * sources (vitest runs the .ts files) the same file in the build under dist/.
 */
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { LassoError } from "./errors.js";

/** The compiled script `name` beside the module at `callerUrl` (its import.meta.url). */
export function workerScript(callerUrl: string, name: string): string {
  const here = fileURLToPath(callerUrl);
  if (here.endsWith(".js")) return join(dirname(here), name);
  let root = dirname(here);
  while (!existsSync(join(root, "package.json"))) root = dirname(root);
  const built = join(root, "dist", relative(root, dirname(here)), name);
  if (!existsSync(built)) throw new LassoError("internal", `worker script ${built} is missing: run \`npm run build\``);
  return built;
}
