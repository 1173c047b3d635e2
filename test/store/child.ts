// Running crash-child.mjs: the compiled engine (dist/) in a real child process, killed with SIGKILL.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = join(ROOT, "test/store/crash-child.mjs");

/**
 * `npm test` builds dist/ first (pretest). When vitest is run directly, rebuild the TypeScript if any
 * engine source is newer than its compiled file, so the child never runs stale code.
 */
export function ensureBuilt(): void {
  const stale = (dir: string): boolean =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).some((d) => {
      const rel = join(dir, d.name);
      if (d.isDirectory()) return stale(rel);
      if (!d.name.endsWith(".ts") || d.name.endsWith(".d.ts")) return false;
      const out = join(ROOT, "dist", rel.replace(/\.ts$/, ".js"));
      return !existsSync(out) || statSync(out).mtimeMs < statSync(join(ROOT, rel)).mtimeMs;
    });
  if (!stale("engine") && existsSync(join(ROOT, "build/lasso.wasm"))) return;
  // type errors in files being edited elsewhere do not stop tsc from emitting
  spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: ROOT, stdio: "ignore" });
  if (!existsSync(join(ROOT, "build/lasso.wasm"))) throw new Error("build/lasso.wasm is missing: run `npm run build` first");
  if (stale("engine")) throw new Error(`dist/ is older than engine/ even after tsc (${relative(ROOT, join(ROOT, "dist"))}): run \`npm run build\``);
}

export interface ChildRun {
  /** Version the child found on opening. */
  ready: number;
  /** Last version the child reported as acknowledged (ready when none). */
  published: number;
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

export interface ChildOptions {
  seed: number;
  batchRows: number;
  keySpace: number;
  /** SIGKILL this many ms after the child is ready. */
  killAfterMs?: number;
  env?: Record<string, string>;
}

/** Runs the child on `dir` until it dies (killed, or by a LASSO_CRASH_AT crash point). */
export function runChild(dir: string, o: ChildOptions): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(o.seed), String(o.batchRows), String(o.keySpace)], {
      cwd: ROOT,
      env: { ...process.env, ...o.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const run: ChildRun = { ready: -1, published: -1, signal: null, code: null, stderr: "" };
    let out = "";
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
      let nl: number;
      while ((nl = out.indexOf("\n")) >= 0) {
        const [what, n] = out.slice(0, nl).split(" ");
        out = out.slice(nl + 1);
        if (what === "ready") {
          run.ready = run.published = Number(n);
          if (o.killAfterMs !== undefined) setTimeout(() => child.kill("SIGKILL"), o.killAfterMs);
        } else if (what === "published") run.published = Number(n);
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => (run.stderr += d));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}
