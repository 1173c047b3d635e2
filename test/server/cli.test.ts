/**
 * The `lasso` CLI shell: help and dispatch in process; `serve` and `start` as real child processes
 * (listening, answering, persisting, shutting down on SIGTERM with exit code 0).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../server/cli.js";
import { UsageError } from "../../server/commands/command.js";
import { parseServeArgs } from "../../server/commands/serve.js";
import { runStart } from "../../server/commands/start.js";
import { openEngine } from "../../engine/index.js";
import { dataSet, http, ipcStreamBytes, lassoChild, listeningUrl, load } from "./harness.js";

function capture() {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  return {
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    restore() {
      o.mockRestore();
      e.mockRestore();
    },
  };
}

describe("dispatch and help", () => {
  it("lasso --help lists the commands and exits 0", async () => {
    const c = capture();
    try {
      expect(await main(["--help"])).toBe(0);
    } finally {
      c.restore();
    }
    for (const name of ["serve", "start", "load", "count", "select", "gen"]) expect(c.out).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
  });

  it("an unknown command exits 2 with the help on stderr; no command too", async () => {
    const c = capture();
    try {
      expect(await main(["frobnicate"])).toBe(2);
      expect(await main([])).toBe(2);
    } finally {
      c.restore();
    }
    expect(c.err).toContain('unknown command "frobnicate"');
    expect(c.err).toContain("Commands:");
    expect(c.out).toBe("");
  });

  it("lasso <cmd> --help prints its usage", async () => {
    const c = capture();
    try {
      expect(await main(["serve", "--help"])).toBe(0);
      expect(await main(["start", "-h"])).toBe(0);
    } finally {
      c.restore();
    }
    expect(c.out).toContain("Usage: lasso serve");
    expect(c.out).toContain("Usage: lasso start");
    expect(c.out).toContain("LASSO_DATA");
  });

  it("a bad flag exits 2 with the usage", async () => {
    const c = capture();
    try {
      expect(await main(["serve", "--port", "http"])).toBe(2);
      expect(await main(["serve", "--bogus"])).toBe(2);
    } finally {
      c.restore();
    }
    expect(c.err).toContain("--port");
  });
});

describe("serve settings", () => {
  it("takes flags over environment over defaults", () => {
    expect(parseServeArgs([], {})).toMatchObject({ dataDir: "./data", port: 7600, host: "127.0.0.1" });
    const env = { LASSO_DATA: "/d", LASSO_PORT: "9000", LASSO_HOST: "0.0.0.0" };
    expect(parseServeArgs([], env)).toMatchObject({ dataDir: "/d", port: 9000, host: "0.0.0.0" });
    expect(parseServeArgs(["--data", "/x", "--port", "0", "--host", "::1"], env)).toMatchObject({ dataDir: "/x", port: 0, host: "::1" });
    expect(() => parseServeArgs(["--port", "70000"], {})).toThrow(UsageError);
    expect(() => parseServeArgs([], { LASSO_PORT: "x" })).toThrow(UsageError);
  });
});

// ---------------------------------------------------------------------------------------------------

interface Running {
  child: ChildProcess;
  base: string;
  log: string[];
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "lasso-cli-"));
  dirs.push(d);
  return d;
}

/** Spawns `lasso <args>` and waits for its "listening" log line. */
async function spawnLasso(args: string[], waitMs = 60_000): Promise<Running> {
  const child = lassoChild(args);
  children.push(child);
  const log: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no "listening" line within ${waitMs} ms:\n${log.join("\n")}`)), waitMs);
  });
  const base = await Promise.race([listeningUrl(child, log, exited), late]).finally(() => clearTimeout(timer));
  return { child, base, log, exited };
}

async function stop(r: Running): Promise<number | null> {
  r.child.kill("SIGTERM");
  return r.exited;
}

describe("lasso serve", () => {
  it("serves a directory as it is, and on SIGTERM finishes, closes the engine and exits 0", async () => {
    const dir = await tempDir();
    const r = await spawnLasso(["serve", "--data", dir, "--port", "0", "--threads", "0"]);
    expect((await http(r.base, "GET", "/v1/entities")).json()).toEqual({ entities: [] });
    const ds = dataSet(500, 5);
    expect((await load(r.base, "user", "user_id", ipcStreamBytes(ds.table))).status).toBe(200);
    expect(await stop(r)).toBe(0);
    expect(r.log.some((l) => l.includes('"msg":"server stopped"'))).toBe(true);
    expect(r.log.some((l) => l.includes('"msg":"engine closed"'))).toBe(true);

    // What the reply said was loaded is on disk.
    const engine = await openEngine({ dataDir: dir, threads: 0 });
    try {
      const c = await engine.count({ entity: "user", expr: "churned" });
      expect(c).toMatchObject({ count: ds.rows.filter((x) => x.tags["churned"] === true).length, total: 500 });
    } finally {
      await engine.close();
    }
  });
});

/** Runs `lasso start` in this process until `stop()`; its log lines are collected. */
function startInProcess(dataDir: string) {
  const lines: string[] = [];
  let stopNow!: (s: string) => void;
  let listening!: (port: number) => void;
  const port = new Promise<number>((r) => (listening = r));
  const exit = runStart(
    { dataDir, host: "127.0.0.1", port: 0, threads: 0, shutdownMs: 1000, accessLog: false },
    { log: (level, msg) => lines.push(`${level} ${msg}`), stopSignal: new Promise((r) => (stopNow = r)), onListening: listening },
  );
  return { lines, port: Promise.race([port, exit.then((code) => Promise.reject(new Error(`exited ${code}: ${lines.join("\n")}`)))]), stop: () => (stopNow("test"), exit) };
}

describe("lasso start", () => {
  it("fills an empty directory with the demo data set, says so, then serves it; later starts do not reload", async () => {
    const dir = join(await tempDir(), "fresh");
    const first = startInProcess(dir);
    const base = `http://127.0.0.1:${await first.port}`;
    expect(first.lines.some((l) => l.includes("loading the demo data set"))).toBe(true);
    expect((await http(base, "POST", "/v1/count", { entity: "user", expr: "TRUE" })).json()).toMatchObject({ count: 100_000, total: 100_000 });
    expect(await first.stop()).toBe(0);

    const again = startInProcess(dir);
    const base2 = `http://127.0.0.1:${await again.port}`;
    expect(again.lines.some((l) => l.includes("loading the demo data set"))).toBe(false);
    expect((await http(base2, "POST", "/v1/count", { entity: "user", expr: "TRUE" })).json().count).toBe(100_000);
    expect(await again.stop()).toBe(0);
  });
});
