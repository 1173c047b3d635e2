/**
 * API.md conformance, black box: every observable statement of /work/shared/spec/API.md probed against a
 * real server on a loopback port with real clients (fetch, raw TCP, `ws`, the built `lasso` bin), each `it`
 * citing the line it checks ("L42" = API.md line 42). Answers are compared with the oracle where there
 * is one. Where API.md can be read two ways, the comment says which reading is checked and why.
 *
 * The spawned-CLI probes run `dist/server/cli.js` (the package's `bin`): `npm run build:ts` first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { connect, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Binary,
  Bool,
  Float64,
  Int32,
  Int64,
  Table,
  TimestampMillisecond,
  Utf8,
  tableFromIPC,
  vectorFromArray,
  type Vector,
} from "apache-arrow";
import fc from "fast-check";
import { pack, unpack } from "msgpackr";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import type { KeyType } from "../../engine/api.js";
import { LOCAL_PRINCIPAL } from "../../engine/catalog/index.js";
import type { Expr } from "../../engine/expr/ast.js";
import { parseServeArgs } from "../../server/commands/serve.js";
import { and, between, cmp, FALSE, hasAny, inList, not, or, tag, TRUE, within } from "../oracle/build.js";
import {
  AS_OF,
  dataSet,
  expectError,
  exprJson,
  exprText,
  http,
  ipcFileBytes,
  ipcStreamBytes,
  jsonKey,
  load,
  metric,
  listeningUrl,
  oracleKeys,
  parseCsv,
  settle,
  sortedKeys,
  startServer,
  until,
  WsClient,
  type DataSet,
  type Harness,
  type Reply,
} from "./harness.js";

const SEED = Number(process.env["LASSO_TEST_SEED"] ?? 20261130);
const N = 800;
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "dist/server/cli.js");
const KEY_TYPES: readonly KeyType[] = ["utf8", "int32", "int64", "uint32", "uint64"];

/** One entity ("user", Utf8 keys): API.md lets `entity` be left out of such a store. */
let one: Harness;
let ds: DataSet;
/** One entity per key type (`k_int64` …), for key encodings and "entity is required". */
let many: Harness;
const byType = {} as Record<KeyType, DataSet>;
const dirs: string[] = [];

beforeAll(async () => {
  console.log(`api-conformance seed ${SEED} (set LASSO_TEST_SEED to repeat)`);
  one = await startServer({ maxInFlight: 4 });
  ds = dataSet(N, SEED);
  expect((await load(one.base, "user", "user_id", ipcStreamBytes(ds.table))).status).toBe(200);
  many = await startServer();
  for (const kt of KEY_TYPES) {
    byType[kt] = dataSet(300, SEED + 1, kt);
    const r = await load(many.base, `k_${kt}`, "user_id", ipcStreamBytes(byType[kt].table));
    expect(r.status, r.text).toBe(200);
  }
});

afterAll(async () => {
  await one?.close();
  await many?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "lasso-conf-"));
  dirs.push(d);
  return d;
}

const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) => http(base, "POST", path, body, headers);

/** API.md L49: an error body is exactly `{"error":{code, message, at?, path?}}`. */
function expectErrorShape(r: Reply, status: number, code: string) {
  const e = expectError(r, status, code);
  expect(Object.keys(r.json())).toEqual(["error"]);
  for (const k of Object.keys(e)) expect(["code", "message", "at", "path"]).toContain(k);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  return e;
}

/** Raw HTTP/1.1 over TCP: what the server writes until it closes or `waitMs` passes. */
function rawHttp(port: number, request: string | Buffer, waitMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, waitMs);
    s.on("data", (d) => (out += d.toString("latin1")));
    s.on("close", done);
    s.on("error", done);
    s.write(request);
  });
}

function arrowKeys(t: Table, keyType: KeyType): string[] {
  return sortedKeys(
    Array.from(t.getChild("id")!.toArray() as ArrayLike<string | number | bigint>).map((k) => jsonKey(keyType, typeof k === "number" ? BigInt(k) : (k as string | bigint))),
  );
}

async function selectRaw(h: Harness, body: object, accept: string): Promise<Response> {
  return fetch(h.base + "/v1/select", { method: "POST", headers: { "content-type": "application/json", accept }, body: JSON.stringify(body) });
}

// ---------------------------------------------------------------------------------------------------
// The built CLI, as a child process

/** A probe of the built `lasso` bin: fails (not skips) when there is none, since a skip cannot fail. */
const itBin = (name: string, fn: (ctx: TestContext) => Promise<void>) =>
  it(name, async (ctx) => {
    expect(existsSync(BIN), `${BIN} is missing: run \`npm run build:ts\` first`).toBe(true);
    await fn(ctx);
  });

interface Child {
  child: ChildProcess;
  log: string[];
  exited: Promise<number | null>;
  /** The "listening" line's URL. */
  base: Promise<string>;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

function lasso(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const log: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const base = listeningUrl(child, log, exited);
  base.catch(() => {});
  return { child, log, exited, base };
}

async function output(args: string[], stdin?: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  if (stdin !== undefined) child.stdin!.end(stdin);
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  return { code, out, err };
}

async function freePort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function portIsFree(port: number): Promise<boolean> {
  const s = createTcpServer();
  return new Promise((resolve) => {
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

function withoutLassoEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ["LASSO_DATA", "LASSO_PORT", "LASSO_HOST"]) delete env[k];
  return env;
}

async function stop(c: Child): Promise<number | null> {
  c.child.kill("SIGTERM");
  return c.exited;
}

// ===================================================================================================
describe("## Start (L6–15)", () => {
  itBin("L7-8: LASSO_DATA / LASSO_PORT / LASSO_HOST choose where and what it serves; flags win over them", async () => {
    const dir = await tempDir();
    const envPort = await freePort();
    const a = lasso(["serve", "--threads", "0"], { LASSO_DATA: dir, LASSO_PORT: String(envPort), LASSO_HOST: "127.0.0.1" });
    expect(await a.base).toBe(`http://127.0.0.1:${envPort}`);
    const t = new Table({ id: vectorFromArray(["a", "b"], new Utf8()), on: vectorFromArray([true, false], new Bool()) });
    expect((await load(await a.base, "t", "id", ipcStreamBytes(t))).status).toBe(200);
    expect(await stop(a)).toBe(0);
    // what it served was LASSO_DATA: the load is there
    expect((await readdir(dir)).length).toBeGreaterThan(0);

    const other = await tempDir();
    const flagPort = await freePort();
    const b = lasso(["serve", "--threads", "0", "--data", other, "--port", String(flagPort), "--host", "127.0.0.1"], { LASSO_DATA: dir, LASSO_PORT: String(envPort), LASSO_HOST: "0.0.0.0" });
    expect(await b.base).toBe(`http://127.0.0.1:${flagPort}`);
    expect((await http(await b.base, "GET", "/v1/entities")).json()).toEqual({ entities: [] });
    expect(await stop(b)).toBe(0);
  });

  itBin("L7: a non-loopback --host is honoured in open mode, with a warning that anyone reaching it is admin", async () => {
    const port = await freePort();
    const c = lasso(["serve", "--threads", "0", "--data", await tempDir()], { LASSO_PORT: String(port), LASSO_HOST: "0.0.0.0" });
    await c.base;
    expect((await http(`http://127.0.0.1:${port}`, "GET", "/healthz")).status).toBe(200);
    expect(c.log.some((l) => l.includes('"warn"') && l.includes("non-loopback"))).toBe(true);
    expect(await stop(c)).toBe(0);
  });

  it("L8: an environment variable set but empty counts as unset (defaults apply)", () => {
    expect(parseServeArgs([], { LASSO_DATA: "", LASSO_PORT: "", LASSO_HOST: "" })).toMatchObject({ dataDir: "./data", port: 7600, host: "127.0.0.1" });
    expect(parseServeArgs([], { LASSO_DATA: "/d", LASSO_PORT: "9", LASSO_HOST: "::1" })).toMatchObject({ dataDir: "/d", port: 9, host: "::1" });
  });

  itBin("L7: with no flags nor env it serves 127.0.0.1:7600 over ./data", async (ctx) => {
    if (!(await portIsFree(7600))) ctx.skip();
    const cwd = await tempDir();
    const child = spawn(process.execPath, [BIN, "serve", "--threads", "0"], { cwd, env: withoutLassoEnv(), stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const listening = new Promise<string>((resolve, reject) => {
      let buf = "";
      child.stderr!.on("data", (d: Buffer) => {
        buf += d.toString();
        for (const line of buf.split("\n")) {
          try {
            const ev = JSON.parse(line) as { msg?: string; url?: string };
            if (ev.msg === "listening" && ev.url) resolve(ev.url);
          } catch {
            // a partial or non-JSON line
          }
        }
      });
      child.on("exit", (code) => reject(new Error(`exited ${code}: ${buf}`)));
    });
    expect(await listening).toBe("http://127.0.0.1:7600");
    expect((await http("http://127.0.0.1:7600", "GET", "/healthz")).status).toBe(200);
    child.kill("SIGTERM");
    await new Promise((r) => child.on("exit", r));
    expect(existsSync(join(cwd, "data"))).toBe(true);
  });
}, 120_000);

describe("## Start, continued", () => {
  itBin("L9-10: `npm start` (lasso start) fills an empty data directory with the demo data set, says so, then serves it", async () => {
    const dir = join(await tempDir(), "fresh");
    const c = lasso(["start", "--data", dir, "--port", "0", "--threads", "0"]);
    const base = await c.base;
    expect(c.log.some((l) => /demo data set/.test(l) && /empty/.test(l))).toBe(true);
    const e = (await http(base, "GET", "/v1/entities")).json();
    expect(e.entities.length).toBe(1);
    const name = e.entities[0].name as string;
    const n = (await post(base, "/v1/count", { entity: name, expr: "TRUE" })).json();
    expect(n.count).toBeGreaterThan(0);
    expect(n.count).toBe(e.entities[0].rows);
    expect(await stop(c)).toBe(0);
  });

  it("L11: `npm test` runs the tests and benchmarks are a separate script", async () => {
    const pkg = JSON.parse(await import("node:fs/promises").then((f) => f.readFile(join(ROOT, "package.json"), "utf8"))) as { scripts: Record<string, string>; bin: Record<string, string> };
    expect(pkg.scripts["test"]).toMatch(/vitest run/);
    expect(pkg.scripts["bench"]).toBeDefined();
    expect(pkg.scripts["test"]).not.toMatch(/bench/);
    expect(pkg.scripts["start"]).toMatch(/cli\.js start\b/);
    // L12: `lasso` is the package's bin, and `npm run lasso -- ARGS` runs it
    expect(pkg.bin["lasso"]).toBe("dist/server/cli.js");
    expect(pkg.scripts["lasso"]).toMatch(/dist\/server\/cli\.js$/);
  });

  itBin("L12-14: every command of `lasso` has --help (exit 0, its usage on stdout); the bin starts with a shebang", async () => {
    const { readFile } = await import("node:fs/promises");
    expect((await readFile(BIN, "utf8")).startsWith("#!/usr/bin/env node")).toBe(true);
    const commands = ["serve", "load", "count", "select", "gen", "bench", "start"];
    const [top, ...each] = await Promise.all([output(["--help"]), ...commands.map((cmd) => output([cmd, "--help"]))]);
    expect(top!.code).toBe(0);
    commands.forEach((cmd, i) => {
      expect(top!.out).toMatch(new RegExp(`^  ${cmd} +\\S`, "m"));
      expect(each[i]!.code, `${cmd} --help: ${each[i]!.err}`).toBe(0);
      expect(each[i]!.out).toContain(`Usage: lasso ${cmd}`);
    });
  });

  itBin("L14-15: `lasso serve --data DIR` on an empty DIR is an empty store (no demo data)", async () => {
    const dir = await tempDir();
    const c = lasso(["serve", "--data", dir, "--port", "0", "--threads", "0"]);
    const base = await c.base;
    expect((await http(base, "GET", "/v1/entities")).json()).toEqual({ entities: [] });
    expect(c.log.some((l) => /demo/.test(l))).toBe(false);
    expectErrorShape(await http(base, "POST", "/v1/count", { expr: "TRUE" }), 404, "unknown_entity");
    expect(await stop(c)).toBe(0);
  });

  itBin("L12-13: the offline commands do the same jobs: lasso load, count and select over a data directory", async () => {
    const dir = await tempDir();
    const file = join(dir, "users.arrow");
    const { writeFile } = await import("node:fs/promises");
    const small = dataSet(200, SEED + 9);
    await writeFile(file, ipcFileBytes(small.table));
    const data = join(dir, "store");
    const l = await output(["load", file, "--entity", "user", "--key", "user_id", "--data", data, "--quiet"]);
    expect(l.code, l.err).toBe(0);
    expect(JSON.parse(l.out)).toMatchObject({ entity: "user", rows: 200, inserted: 200 });
    const expr = and(between("age", 20, 50), not(tag("churned")));
    const c = await output(["count", "--data", data, "--as-of", AS_OF, exprText(expr)]);
    expect(c.code, c.err).toBe(0);
    expect(JSON.parse(c.out)).toMatchObject({ count: oracleKeys(small, expr).length, total: 200 });
    const s = await output(["select", "--data", data, "--format", "csv", exprText(expr)]);
    expect(s.code, s.err).toBe(0);
    expect(s.out.startsWith("id\r\n")).toBe(true);
    // an Arrow IPC stream file loads too
    const streamFile = join(dir, "more.arrows");
    const more = dataSet(50, SEED + 10);
    await writeFile(streamFile, ipcStreamBytes(more.table));
    const l2 = await output(["load", streamFile, "--entity", "other", "--key", "user_id", "--data", data, "--quiet"]);
    expect(l2.code, l2.err).toBe(0);
    expect(JSON.parse(l2.out)).toMatchObject({ entity: "other", rows: 50 });
  });

  itBin("L34: durable: once a load's reply came, a killed server (SIGKILL) restarts with all of it", async () => {
    const dir = await tempDir();
    const a = lasso(["serve", "--data", dir, "--port", "0", "--threads", "0"]);
    const base = await a.base;
    const small = dataSet(300, SEED + 3);
    const r = await load(base, "user", "user_id", ipcStreamBytes(small.table));
    expect(r.status, r.text).toBe(200);
    a.child.kill("SIGKILL");
    await a.exited;
    const b = lasso(["serve", "--data", dir, "--port", "0", "--threads", "0"]);
    const base2 = await b.base;
    const expr = or(tag("churned"), cmp("spend", ">", 400));
    expect((await http(base2, "POST", "/v1/count", { expr: exprText(expr) })).json()).toMatchObject({ count: oracleKeys(small, expr).length, total: 300 });
    expect(await stop(b)).toBe(0);
  });
}, 180_000);

// ===================================================================================================
describe("## Bulk load (L17–36)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startServer();
  });
  afterAll(async () => {
    await h?.close();
  });

  const countOf = async (entity: string, expr: string | object) => {
    const r = await post(h.base, "/v1/count", { entity, expr });
    expect(r.status, r.text).toBe(200);
    return r.json() as { count: number; total: number };
  };
  const keysOf = async (entity: string, expr: string) => (await post(h.base, "/v1/select", { entity, expr })).json().ids as unknown[];
  const table = (cols: Record<string, Vector>) => new Table(cols);
  const utf8 = (xs: (string | null)[]) => vectorFromArray(xs, new Utf8());
  const i32 = (xs: (number | null)[]) => vectorFromArray(xs, new Int32());

  it("L18-19: an Arrow IPC stream and an Arrow IPC file both load; another Content-Type is 415", async () => {
    const t = table({ id: utf8(["a", "b"]), n: i32([1, 2]) });
    expect((await load(h.base, "fmt_stream", "id", ipcStreamBytes(t))).status).toBe(200);
    expect((await load(h.base, "fmt_file", "id", ipcFileBytes(t), "application/vnd.apache.arrow.file")).status).toBe(200);
    expect((await countOf("fmt_file", "n = 2")).count).toBe(1);
    expectErrorShape(await load(h.base, "fmt_x", "id", ipcStreamBytes(t), "application/octet-stream"), 415, "unsupported_media_type");
  });

  it("L21: the key column may be Utf8, Int32, Int64, UInt32 or UInt64; every other column is a tag", async () => {
    for (const kt of KEY_TYPES) {
      const small = dataSet(40, SEED + 4, kt);
      const r = await load(h.base, `keys_${kt}`, "user_id", ipcStreamBytes(small.table));
      expect(r.status, r.text).toBe(200);
      expect([...r.json().newTags].sort()).toEqual(["age", "churned", "city", "interests", "last_order_at", "spend"]);
    }
  });

  it("L22-23: a tag created by a load is usable at once in open single-user mode", async () => {
    const t = table({ id: utf8(["a", "b", "c"]), fresh: vectorFromArray([true, false, true], new Bool()) });
    expect((await load(h.base, "fresh", "id", ipcStreamBytes(t))).status).toBe(200);
    expect((await countOf("fresh", "fresh")).count).toBe(2);
  });

  it("L24: upsert: a new key adds, a known key overwrites the given tags only, a null clears that tag", async () => {
    const t1 = table({ id: utf8(["a", "b", "c"]), x: i32([1, 2, 3]), y: utf8(["p", "q", "r"]) });
    let r = await load(h.base, "ups", "id", ipcStreamBytes(t1));
    expect(r.json()).toMatchObject({ rows: 3, inserted: 3, updated: 0 });
    // b: x overwritten, y untouched; c: x cleared; d: new
    const t2 = table({ id: utf8(["b", "c", "d"]), x: i32([20, null, 40]) });
    r = await load(h.base, "ups", "id", ipcStreamBytes(t2));
    expect(r.json()).toMatchObject({ rows: 3, inserted: 1, updated: 2, newTags: [] });
    expect(await keysOf("ups", "x = 20 AND y = 'q'")).toEqual(["b"]);
    expect(await keysOf("ups", "x IS NULL")).toEqual(["c"]);
    expect(await keysOf("ups", "y = 'r'")).toEqual(["c"]);
    expect(await keysOf("ups", "x = 40 AND y IS NULL")).toEqual(["d"]);
    expect(await countOf("ups", "TRUE")).toMatchObject({ count: 4, total: 4 });
  });

  it("L25-27: a new column creates a tag; Int32 into an int tag begun as Int64 is fine; Float64 into it is schema_conflict", async () => {
    const t1 = table({ id: utf8(["a", "b"]), n: vectorFromArray([1n, 2n], new Int64()) });
    expect((await load(h.base, "widths", "id", ipcStreamBytes(t1))).status).toBe(200);
    const t2 = table({ id: utf8(["c"]), n: i32([3]), extra: utf8(["e"]) });
    const r = await load(h.base, "widths", "id", ipcStreamBytes(t2));
    expect(r.status, r.text).toBe(200);
    expect(r.json().newTags).toEqual(["extra"]);
    expect((await countOf("widths", "n >= 2")).count).toBe(2);
    const t3 = table({ id: utf8(["d"]), n: vectorFromArray([4.5], new Float64()) });
    const e = expectErrorShape(await load(h.base, "widths", "id", ipcStreamBytes(t3)), 409, "schema_conflict");
    expect(e.message).toContain("n");
    expect(await countOf("widths", "TRUE")).toMatchObject({ count: 3 });
  });

  it("L27: a null key is null_key (400) and changes nothing", async () => {
    const t = table({ id: utf8(["a", null]), n: i32([1, 2]) });
    expectErrorShape(await load(h.base, "nullkey", "id", ipcStreamBytes(t)), 400, "null_key");
    expectErrorShape(await post(h.base, "/v1/count", { entity: "nullkey", expr: "TRUE" }), 404, "unknown_entity");
  });

  it("L27-28: a key deleted earlier and loaded again is a new entity with no old tag values", async () => {
    const t1 = table({ id: utf8(["a", "b"]), x: i32([1, 2]), y: utf8(["p", "q"]) });
    expect((await load(h.base, "reborn", "id", ipcStreamBytes(t1))).status).toBe(200);
    const d = await http(h.base, "DELETE", "/v1/entities/reborn/rows", { keys: ["a"] });
    expect(d.status, d.text).toBe(200);
    const t2 = table({ id: utf8(["a"]), x: i32([5]) });
    expect((await load(h.base, "reborn", "id", ipcStreamBytes(t2))).json()).toMatchObject({ inserted: 1, updated: 0 });
    expect(await keysOf("reborn", "y IS NULL")).toEqual(["a"]);
    expect(await keysOf("reborn", "x = 5")).toEqual(["a"]);
  });

  it("L29: the stream's end-of-stream marker is optional", async () => {
    const t = table({ id: utf8(["a", "b", "c"]), n: i32([1, 2, 3]) });
    const bytes = ipcStreamBytes(t);
    // IPC stream EOS: continuation 0xFFFFFFFF then a zero length
    expect([...bytes.subarray(bytes.length - 8)]).toEqual([255, 255, 255, 255, 0, 0, 0, 0]);
    const r = await load(h.base, "noeos", "id", bytes.subarray(0, bytes.length - 8));
    expect(r.status, r.text).toBe(200);
    expect((await countOf("noeos", "n > 1")).count).toBe(2);
  });

  it("L29-31: a body cut short (short Content-Length, then the connection drops) fails the whole load", async () => {
    const t = table({ id: utf8(["a", "b"]), n: i32([1, 2]) });
    expect((await load(h.base, "cut", "id", ipcStreamBytes(t))).status).toBe(200);
    const more = ipcStreamBytes(dataSet(500, SEED + 5).table);
    const head = `POST /v1/entities/cut/load?key=user_id HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.apache.arrow.stream\r\nContent-Length: ${more.length}\r\n\r\n`;
    await new Promise<void>((resolve) => {
      const s = connect(h.server.port, "127.0.0.1", () => {
        s.write(head);
        s.end(more.subarray(0, Math.floor(more.length / 2)));
      });
      s.on("close", () => resolve());
      s.on("error", () => resolve());
      s.resume();
    });
    await until(async () => (await metric(h.base, "lasso_loads_in_flight")) === 0, "the cut load to end");
    expect(await countOf("cut", "TRUE")).toMatchObject({ count: 2, total: 2 });
    const tags = (await http(h.base, "GET", "/v1/entities/cut/tags")).json().tags.map((x: { name: string }) => x.name);
    expect(tags).toEqual(["n"]);
  });

  it("L29-30: a Content-Length shorter than the stream (the IPC stream cut mid-message) fails the whole load", async () => {
    const t = table({ id: utf8(["a", "b"]), n: i32([1, 2]) });
    expect((await load(h.base, "short", "id", ipcStreamBytes(t))).status).toBe(200);
    const more = ipcStreamBytes(dataSet(500, SEED + 11).table);
    for (const cut of [Math.floor(more.length / 2), more.length - 20]) {
      const r = await load(h.base, "short", "user_id", more.subarray(0, cut));
      expectErrorShape(r, 400, "bad_arrow");
    }
    expect(await countOf("short", "TRUE")).toMatchObject({ count: 2, total: 2 });
  });

  it("L31-32: all-or-nothing: bad bytes, a type conflict or a duplicate key leave the store exactly as before", async () => {
    const t = table({ id: utf8(["a", "b"]), n: i32([1, 2]) });
    expect((await load(h.base, "aon", "id", ipcStreamBytes(t))).status).toBe(200);
    const before = (await http(h.base, "GET", "/v1/entities/aon/tags")).text;
    expectErrorShape(await load(h.base, "aon", "id", new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), 400, "bad_arrow");
    const dup = table({ id: utf8(["c", "d", "c"]), n: i32([7, 8, 9]), z: i32([1, 1, 1]) });
    expectErrorShape(await load(h.base, "aon", "id", ipcStreamBytes(dup)), 400, "duplicate_key");
    const conflict = table({ id: utf8(["a", "e"]), z: i32([1, 1]), n: utf8(["x", "y"]) });
    expectErrorShape(await load(h.base, "aon", "id", ipcStreamBytes(conflict)), 409, "schema_conflict");
    expect(await countOf("aon", "TRUE")).toMatchObject({ count: 2, total: 2 });
    expect(await keysOf("aon", "n = 1")).toEqual(["a"]);
    expect((await http(h.base, "GET", "/v1/entities/aon/tags")).text).toBe(before);
  });

  it("L32-33: queries running during a load see the store wholly before or wholly after it", async () => {
    const rows = 20_000;
    const ids = Array.from({ length: rows }, (_, i) => `r${i}`);
    const off = table({ id: utf8(ids), on: vectorFromArray(ids.map(() => false), new Bool()) });
    expect((await load(h.base, "atomic", "id", ipcStreamBytes(off))).status).toBe(200);
    const on = ipcStreamBytes(table({ id: utf8(ids), on: vectorFromArray(ids.map(() => true), new Bool()) }));
    let loading = true;
    const seen = new Set<number>();
    const loader = load(h.base, "atomic", "id", on).finally(() => (loading = false));
    while (loading) seen.add((await countOf("atomic", "on")).count);
    expect((await loader).status).toBe(200);
    seen.add((await countOf("atomic", "on")).count);
    for (const c of seen) expect([0, rows]).toContain(c);
    expect(seen.has(rows)).toBe(true);
  });

  it("L35: the reply is {entity, rows, inserted, updated, newTags, version, tookMs}", async () => {
    const t = table({ id: utf8(["a", "b"]), n: i32([1, 2]) });
    const r = await load(h.base, "reply", "id", ipcStreamBytes(t));
    const body = r.json();
    for (const k of ["entity", "rows", "inserted", "updated", "newTags", "version", "tookMs"]) expect(body).toHaveProperty(k);
    expect(body).toMatchObject({ entity: "reply", rows: 2, inserted: 2, updated: 0, newTags: ["n"] });
    expect(typeof body.version).toBe("number");
    expect(typeof body.tookMs).toBe("number");
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("L36, L82-83: DELETE …/rows {keys} removes entities; 64-bit keys are decimal strings, 32-bit keys numbers", async () => {
    for (const kt of KEY_TYPES) {
      const small = dataSet(30, SEED + 6, kt);
      const entity = `del_${kt}`;
      expect((await load(h.base, entity, "user_id", ipcStreamBytes(small.table))).status).toBe(200);
      const keys = small.rows.slice(0, 4).map((r) => jsonKey(kt, r.key));
      const r = await http(h.base, "DELETE", `/v1/entities/${entity}/rows`, { keys });
      expect(r.status, r.text).toBe(200);
      const left = (await post(h.base, "/v1/select", { entity, expr: "TRUE" })).json();
      expect(left.count).toBe(26);
      expect(sortedKeys(left.ids)).toEqual(sortedKeys(small.rows.slice(4).map((x) => jsonKey(kt, x.key))));
    }
    expectErrorShape(await http(h.base, "DELETE", "/v1/entities/nobody/rows", { keys: ["x"] }), 404, "unknown_entity");
  });
});

describe("## Fine print: loads (L80-82)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startServer();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("L80: a missing key column is bad_request naming it", async () => {
    const t = new Table({ id: vectorFromArray(["a"], new Utf8()), n: vectorFromArray([1], new Int32()) });
    const e = expectErrorShape(await load(h.base, "fp", "user_key", ipcStreamBytes(t)), 400, "bad_request");
    expect(e.message).toContain("user_key");
    expectErrorShape(await http(h.base, "POST", "/v1/entities/fp/load", ipcStreamBytes(t), { "content-type": "application/vnd.apache.arrow.stream" }), 400, "bad_request");
  });

  it("L80: a key column of another type than Utf8/Int32/Int64/UInt32/UInt64 is bad_request naming it", async () => {
    const t = new Table({ weird_id: vectorFromArray([1.5, 2.5], new Float64()), n: vectorFromArray([1, 2], new Int32()) });
    const e = expectErrorShape(await load(h.base, "fp", "weird_id", ipcStreamBytes(t)), 400, "bad_request");
    expect(e.message).toContain("weird_id");
  });

  it("L81: a column whose Arrow type maps to no SEL type is schema_conflict naming it", async () => {
    const t = new Table({ id: vectorFromArray(["a"], new Utf8()), blob_col: vectorFromArray([new Uint8Array([1, 2])], new Binary()) });
    const e = expectErrorShape(await load(h.base, "fp", "id", ipcStreamBytes(t)), 409, "schema_conflict");
    expect(e.message).toContain("blob_col");
  });

  it("L81-82: integer data wider than a tag's first width is fine (the store widens)", async () => {
    const t1 = new Table({ id: vectorFromArray(["a"], new Utf8()), n: vectorFromArray([1], new Int32()) });
    expect((await load(h.base, "wide", "id", ipcStreamBytes(t1))).status).toBe(200);
    const big = 2n ** 40n;
    const t2 = new Table({ id: vectorFromArray(["b"], new Utf8()), n: vectorFromArray([big], new Int64()) });
    const r = await load(h.base, "wide", "id", ipcStreamBytes(t2));
    expect(r.status, r.text).toBe(200);
    expect((await post(h.base, "/v1/select", { entity: "wide", expr: `n = ${big}` })).json()).toEqual({ count: 1, ids: ["b"] });
  });
});

// ===================================================================================================
const QUERIES: Record<string, Expr> = {
  "range and enum": and(between("age", 25, 40), inList("city", "上海", "北京")),
  "bool or float": or(tag("churned"), cmp("spend", ">", 400)),
  "NOT with nulls": not(cmp("city", "=", "广州")),
  "multi any": hasAny("interests", "sports", "food"),
  everything: TRUE,
  nothing: FALSE,
};

describe("## Queries: POST /v1/count (L39-41)", () => {
  for (const [name, expr] of Object.entries(QUERIES)) {
    it(`L39-41: {entity, expr: text | JSON, asOf} → {count, total, tookMs}: ${name}`, async () => {
      const want = oracleKeys(ds, expr).length;
      for (const form of [exprText(expr), exprJson(expr)]) {
        const r = await post(one.base, "/v1/count", { entity: "user", expr: form, asOf: AS_OF });
        expect(r.status, r.text).toBe(200);
        expect(r.headers.get("content-type")).toMatch(/^application\/json/);
        const body = r.json();
        expect(body).toMatchObject({ count: want, total: N });
        expect(typeof body.tookMs).toBe("number");
      }
    });
  }

  it("L39-40: entity may be omitted when the store has one entity; with several it is bad_request naming entity", async () => {
    const expr = QUERIES["range and enum"]!;
    expect((await post(one.base, "/v1/count", { expr: exprText(expr) })).json()).toMatchObject({ count: oracleKeys(ds, expr).length, total: N });
    const e = expectErrorShape(await post(many.base, "/v1/count", { expr: "TRUE" }), 400, "bad_request");
    expect(e.message).toMatch(/entity/);
  });

  it("L41: total is the number of existing entities (deleted ones are not counted)", async () => {
    const h = await startServer();
    try {
      const small = dataSet(50, SEED + 7);
      expect((await load(h.base, "user", "user_id", ipcStreamBytes(small.table))).status).toBe(200);
      await http(h.base, "DELETE", "/v1/entities/user/rows", { keys: small.rows.slice(0, 5).map((r) => r.key as string) });
      expect((await post(h.base, "/v1/count", { expr: "TRUE" })).json()).toMatchObject({ count: 45, total: 45 });
    } finally {
      await h.close();
    }
  });

  it("L39: asOf pins now (WITHIN counts differ with it, and match the oracle at it)", async () => {
    const expr = within("last_order_at", 30, "day");
    const text = "last_order_at WITHIN 30 DAYS";
    const at = (await post(one.base, "/v1/count", { expr: text, asOf: AS_OF })).json().count;
    expect(at).toBe(oracleKeys(ds, expr).length);
    expect(at).toBeGreaterThan(0);
    // the data's times are all before AS_OF: a year later nothing is within 30 days
    expect((await post(one.base, "/v1/count", { expr: text, asOf: "2026-06-01T00:00:00Z" })).json().count).toBe(0);
    expectErrorShape(await post(one.base, "/v1/count", { expr: text, asOf: "not a time" }), 400, "bad_request");
  });
});

describe("## Queries: POST /v1/select (L42-47)", () => {
  for (const [name, expr] of Object.entries(QUERIES)) {
    it(`L42-43: streams every matching key once; count is the full number: ${name}`, async () => {
      const want = oracleKeys(ds, expr);
      const r = await post(one.base, "/v1/select", { entity: "user", expr: exprText(expr), asOf: AS_OF });
      expect(r.status, r.text).toBe(200);
      const got = r.json();
      expect(Object.keys(got)).toEqual(["count", "ids"]);
      expect(got.count).toBe(want.length);
      expect(got.ids).toHaveLength(want.length);
      expect(sortedKeys(got.ids)).toEqual(sortedKeys(want));
    });
  }

  it("L42: limit: at most limit keys (distinct, all matching); count stays the full number; default is all", async () => {
    const expr = QUERIES["bool or float"]!;
    const want = new Set(oracleKeys(ds, expr));
    for (const limit of [1, 7, want.size - 1, want.size, want.size + 10]) {
      const r = (await post(one.base, "/v1/select", { expr: exprText(expr), limit })).json();
      expect(r.count).toBe(want.size);
      expect(r.ids).toHaveLength(Math.min(limit, want.size));
      expect(new Set(r.ids).size).toBe(r.ids.length);
      for (const k of r.ids) expect(want.has(k)).toBe(true);
    }
  });

  it("L42: limit is any whole number ≥ 0 (one past every count, even 1e20, means all); others are bad_request", async () => {
    for (const limit of [Number.MAX_SAFE_INTEGER, 1e20]) {
      const r = await post(one.base, "/v1/select", { expr: "TRUE", limit });
      expect(r.status, r.text).toBe(200);
      expect(r.json().ids).toHaveLength(N);
    }
    for (const limit of [-1, 0.5, "5", true, {}]) expectErrorShape(await post(one.base, "/v1/select", { expr: "TRUE", limit }), 400, "bad_request");
  });

  for (const kt of KEY_TYPES) {
    it(`L43-44: ${kt} keys keep their type in JSON (Utf8 strings, 32-bit numbers, 64-bit decimal strings)`, async () => {
      const d = byType[kt];
      const expr = cmp("age", ">=", 40);
      const want = oracleKeys(d, expr);
      const r = (await post(many.base, "/v1/select", { entity: `k_${kt}`, expr: exprText(expr) })).json();
      const jsType = kt === "int32" || kt === "uint32" ? "number" : "string";
      for (const k of r.ids) expect(typeof k).toBe(jsType);
      expect(sortedKeys(r.ids)).toEqual(sortedKeys(want));
      // exact: the decimal strings are the keys themselves, not rounded doubles
      if (kt === "int64" || kt === "uint64") for (const k of r.ids as string[]) expect(k).toMatch(/^-?\d+$/);
    });

    it(`L45-46: ${kt} keys by Accept: NDJSON one JSON key a line, CSV header id, Arrow one column id of the native type`, async () => {
      const d = byType[kt];
      const expr = cmp("age", "<", 40);
      const want = sortedKeys(oracleKeys(d, expr));
      const body = { entity: `k_${kt}`, expr: exprText(expr) };

      const nd = await selectRaw(many, body, "application/x-ndjson");
      expect(nd.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
      const ndText = await nd.text();
      expect(ndText.endsWith("\n")).toBe(true);
      const lines = ndText.slice(0, -1).split("\n");
      expect(sortedKeys(lines.map((l) => JSON.parse(l)))).toEqual(want);

      const csv = await selectRaw(many, body, "text/csv");
      expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
      const rows = parseCsv(await csv.text());
      expect(rows[0]).toEqual(["id"]);
      const fromCsv = rows.slice(1).map((r) => {
        expect(r).toHaveLength(1);
        return kt === "int32" || kt === "uint32" ? Number(r[0]) : r[0]!;
      });
      expect(sortedKeys(fromCsv)).toEqual(want);

      const ar = await selectRaw(many, body, "application/vnd.apache.arrow.stream");
      expect(ar.headers.get("content-type")).toBe("application/vnd.apache.arrow.stream");
      const t = tableFromIPC(new Uint8Array(await ar.arrayBuffer()));
      const arrowName = { utf8: "Utf8", int32: "Int32", int64: "Int64", uint32: "Uint32", uint64: "Uint64" }[kt];
      expect(t.schema.fields.map((f) => [f.name, String(f.type)])).toEqual([["id", arrowName]]);
      expect(arrowKeys(t, kt)).toEqual(want);
    });
  }

  it("L42-46: limit holds in every format", async () => {
    const body = { expr: "churned", limit: 5 };
    const nd = (await (await selectRaw(one, body, "application/x-ndjson")).text()).split("\n").filter((l) => l !== "");
    expect(nd).toHaveLength(5);
    expect(parseCsv(await (await selectRaw(one, body, "text/csv")).text())).toHaveLength(6);
    const ar = await selectRaw(one, body, "application/vnd.apache.arrow.stream");
    expect(ar.headers.get("x-lasso-count")).toBe(String(oracleKeys(ds, tag("churned")).length));
    expect(tableFromIPC(new Uint8Array(await ar.arrayBuffer())).numRows).toBe(5);
  });

  it("L45: application/json is the default (no Accept, */*, or only unsupported types)", async () => {
    for (const accept of [undefined, "*/*", "application/json", "image/png"]) {
      const r = await post(one.base, "/v1/select", { expr: "churned", limit: 2 }, accept ? { accept } : {});
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(Object.keys(r.json())).toEqual(["count", "ids"]);
    }
  });

  it("L45-46: CSV is RFC 4180: CRLF records, fields with quote, comma, CR or LF quoted with quotes doubled", async () => {
    const r = await selectRaw(one, { expr: "TRUE" }, "text/csv");
    const rows = parseCsv(await r.text());
    const ids = rows.slice(1).map((x) => x[0]!);
    expect(ids.some((k) => k.includes('"') && k.includes(",") && k.includes("\n"))).toBe(true);
    expect(ids.sort()).toEqual((oracleKeys(ds, TRUE) as string[]).slice().sort());
  });

  it("L47: the answer streams with backpressure: a client that stops reading stalls the server's reads of the answer", async () => {
    const h = await startServer({ streamHighWaterBytes: 64 << 10 });
    try {
      const rows = 60_000;
      const ids = Array.from({ length: rows }, (_, i) => `k${String(i).padStart(100, "0")}`);
      const t = new Table({ id: vectorFromArray(ids, new Utf8()), on: vectorFromArray(ids.map(() => true), new Bool()) });
      expect((await load(h.base, "big", "id", ipcStreamBytes(t))).status).toBe(200);
      const { request } = await import("node:http");
      const before = h.engine.pulled;
      const req = request({ host: "127.0.0.1", port: h.server.port, method: "POST", path: "/v1/select", headers: { "content-type": "application/json", accept: "application/x-ndjson" } });
      const res = await new Promise<import("node:http").IncomingMessage>((resolve) => {
        req.on("response", resolve);
        req.end(JSON.stringify({ expr: "on", chunk: 500 }));
      });
      res.pause();
      const stalled = (await settle(() => h.engine.pulled)) - before;
      expect(stalled).toBeLessThan(rows / 500);
      let n = 0;
      res.on("data", (d: Buffer) => {
        for (const b of d) if (b === 10) n++;
      });
      res.resume();
      await new Promise((r) => res.on("end", r));
      expect(n).toBe(rows);
    } finally {
      await h.close();
    }
  });
});

describe("## Queries: bodies, errors and the other endpoints (L48-56)", () => {
  it("L48: bodies are JSON with Content-Type application/json, charset optional; any other type is 415", async () => {
    for (const ct of ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", 'application/json; charset="utf-8"']) {
      expect((await post(one.base, "/v1/count", { expr: "churned" }, { "content-type": ct })).status, ct).toBe(200);
    }
    for (const ct of ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1"]) {
      expectErrorShape(await post(one.base, "/v1/count", { expr: "churned" }, { "content-type": ct }), 415, "unsupported_media_type");
    }
    const raw = await rawHttp(one.server.port, 'POST /v1/count HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{"expr":"TRUE"}');
    expect(raw).toMatch(/^HTTP\/1\.1 415 /);
  });

  it("L48: a body sent with chunked transfer encoding, or after Expect: 100-continue, is read like any other", async () => {
    const chunked = await rawHttp(
      one.server.port,
      'POST /v1/count HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{"exp\r\n9\r\nr":"TRUE"\r\n1\r\n}\r\n0\r\n\r\n',
    );
    expect(chunked).toMatch(/^HTTP\/1\.1 200 /);
    expect(chunked).toContain(`"total":${N}`);
    const cont = await new Promise<string>((resolve) => {
      const s = connect(one.server.port, "127.0.0.1");
      let out = "";
      s.on("data", (d) => {
        out += d.toString();
        if (out.startsWith("HTTP/1.1 100") && !out.includes("200 OK")) s.write('{"expr":"TRUE"}');
        if (out.includes('"total"')) s.end();
      });
      s.on("close", () => resolve(out));
      s.write("POST /v1/count HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15\r\nExpect: 100-continue\r\n\r\n");
    });
    expect(cont).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  });

  it("L49-50: expression errors carry code, message and at {line, column, length} (text) or path (JSON form)", async () => {
    const e = expectErrorShape(await post(one.base, "/v1/count", { expr: "age > 3 AND agee < 5" }), 400, "unknown_tag");
    expect(e.at).toEqual({ line: 1, column: 13, length: 4 });
    const s = expectErrorShape(await post(one.base, "/v1/count", { expr: "age >\n  AND" }), 400, "syntax");
    expect(s.at).toMatchObject({ line: 2, column: expect.any(Number), length: expect.any(Number) });
    const j = expectErrorShape(await post(one.base, "/v1/count", { expr: { and: [{ tag: "churned" }, { "=": ["city", 3] }] } }), 400, "type_mismatch");
    expect(j.path).toBe("/and/1");
    expect(j.at).toBeUndefined();
    expectErrorShape(await post(one.base, "/v1/count", { expr: "@nothing_here" }), 404, "unknown_segment");
    expectErrorShape(await post(one.base, "/v1/count", { expr: "(".repeat(200) + "churned" + ")".repeat(200) }), 400, "too_deep");
  });

  it("L50-51: bad_json (400) for a body that is not JSON, not UTF-8, or empty", async () => {
    for (const body of ['{"expr": ', "", "{'expr': 'TRUE'}", new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])]) {
      expectErrorShape(await post(one.base, "/v1/count", body), 400, "bad_json");
    }
  });

  it("L51: bad_request (400) names the missing or wrong field", async () => {
    const cases: [unknown, string][] = [
      [{}, "expr"],
      [{ entity: "user" }, "expr"],
      [{ expr: "TRUE", entity: 5 }, "entity"],
      [{ expr: "TRUE", asOf: 5 }, "asOf"],
      [{ expr: "TRUE", limit: -1 }, "limit"],
      [{ expr: "TRUE", limit: "3" }, "limit"],
      [{ expr: "TRUE", limit: 2.5 }, "limit"],
    ];
    for (const [body, field] of cases) {
      const path = field === "limit" ? "/v1/select" : "/v1/count";
      const e = expectErrorShape(await post(one.base, path, body), 400, "bad_request");
      expect(e.message).toContain(field);
    }
  });

  it("L52: unknown_entity (404)", async () => {
    expectErrorShape(await post(one.base, "/v1/count", { entity: "nobody", expr: "TRUE" }), 404, "unknown_entity");
    expectErrorShape(await post(one.base, "/v1/select", { entity: "nobody", expr: "TRUE" }), 404, "unknown_entity");
    expectErrorShape(await http(one.base, "GET", "/v1/entities/nobody/tags"), 404, "unknown_entity");
  });

  it("L53: timeout (408) when a query runs past its time", async () => {
    one.engine.hold();
    try {
      expectErrorShape(await post(one.base, "/v1/count", { expr: "churned", timeoutMs: 30 }), 408, "timeout");
    } finally {
      one.engine.release();
    }
  });

  it("L53: overloaded (503) with Retry-After when too much runs at once", async () => {
    one.engine.hold();
    const held: Promise<Reply>[] = [];
    try {
      for (let i = 0; i < 4; i++) held.push(post(one.base, "/v1/count", { expr: "churned" }));
      await until(() => one.engine.waiting === 4, "4 queries running");
      const r = await post(one.base, "/v1/count", { expr: "churned" });
      expectErrorShape(r, 503, "overloaded");
      expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
    } finally {
      one.engine.release();
    }
    for (const p of held) expect((await p).status).toBe(200);
  });

  it("L53-54: unauthorized (401, with WWW-Authenticate), forbidden (403); a loaded tag is a draft that requests opt in to", async () => {
    const h = await startServer();
    try {
      expect((await load(h.base, "user", "user_id", ipcStreamBytes(dataSet(30, SEED).table))).status).toBe(200);
      const cat = h.engine.tagCatalog;
      const analyst = cat.addUser("ana", ["analyst"], LOCAL_PRINCIPAL).token;
      const loader = cat.addUser("lou", ["loader"], LOCAL_PRINCIPAL).token;
      const r = await post(h.base, "/v1/count", { expr: "TRUE" });
      expectErrorShape(r, 401, "unauthorized");
      expect(r.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
      expectErrorShape(await post(h.base, "/v1/count", { expr: "TRUE" }, { authorization: "Bearer nope" }), 401, "unauthorized");
      const auth = (t: string) => ({ authorization: `Bearer ${t}` });
      expect((await post(h.base, "/v1/count", { expr: "TRUE" }, auth(analyst))).json()).toMatchObject({ count: 30 });
      const t = new Table({ user_id: vectorFromArray(["u0", "u1"], new Utf8()), drafty: vectorFromArray([true, false], new Bool()) });
      expectErrorShape(await http(h.base, "POST", "/v1/entities/user/load?key=user_id", ipcStreamBytes(t), { "content-type": "application/vnd.apache.arrow.stream", ...auth(analyst) }), 403, "forbidden");
      const l = await http(h.base, "POST", "/v1/entities/user/load?key=user_id", ipcStreamBytes(t), { "content-type": "application/vnd.apache.arrow.stream", ...auth(loader) });
      expect(l.status, l.text).toBe(200);
      expect((await post(h.base, "/v1/count", { expr: "drafty" }, auth(analyst))).status).toBe(400);
      expect((await post(h.base, "/v1/count", { expr: "drafty", includeDrafts: true }, auth(analyst))).json()).toMatchObject({ count: 1 });
      // the WebSocket needs a token too
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(h.wsUrl);
        ws.on("unexpected-response", (_q, res) => resolve(res.statusCode ?? 0));
        ws.on("open", () => resolve(101));
        ws.on("error", () => {});
      });
      expect(status).toBe(401);
    } finally {
      await h.close();
    }
  });

  it("L54: tag_disabled (409) for an expression using a tag disabled in the catalog", async () => {
    const h = await startServer();
    try {
      expect((await load(h.base, "user", "user_id", ipcStreamBytes(dataSet(30, SEED).table))).status).toBe(200);
      for (const to of ["deprecated", "disabled"]) {
        const r = await post(h.base, "/v1/catalog/tags/user/churned/transitions", { to, reason: `probe: ${to}` });
        expect(r.status, r.text).toBe(200);
      }
      expectErrorShape(await post(h.base, "/v1/count", { expr: "churned OR TRUE" }), 409, "tag_disabled");
      expect((await post(h.base, "/v1/count", { expr: "age > 0 OR TRUE" })).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it("L49: 5xx only for the server's own faults: seeded random bodies and expressions never get one", async () => {
    const jsonish = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        fc.constantFrom(true, false, null, 0, -1, 1e308, "churned", "", "age", "city", "上海", "days", "2025-01-01"),
        fc.string(),
        fc.integer(),
        fc.double(),
        fc.array(tie("node"), { maxLength: 4 }),
        fc.dictionary(fc.constantFrom("and", "or", "not", "tag", "=", "<", "in", "between", "isNull", "has", "hasAny", "like", "within", "before", "segment", "x"), tie("node"), { maxKeys: 2 }),
      ),
    })).node;
    const text = fc.array(fc.constantFrom("age", "city", "churned", "interests", "spend", "last_order_at", "AND", "OR", "NOT", "(", ")", "=", "<", "IN", "BETWEEN", "HAS", "ANY", "LIKE", "WITHIN", "30", "DAYS", "'上海'", "'%'", "@x", "`", "'", "\\", "1e999", "-", ",", "IS", "NULL", "DATE", "'2025-13-40'"), { maxLength: 12 }).map((xs) => xs.join(" "));
    const body = fc.record(
      { entity: fc.oneof(fc.constant("user"), fc.string(), fc.integer()), expr: fc.oneof(jsonish, text), asOf: fc.oneof(fc.string(), fc.constant(AS_OF)), limit: fc.oneof(fc.integer(), fc.double()) },
      { requiredKeys: ["expr"] },
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom("/v1/count", "/v1/select"), async (b, path) => {
        const r = await post(one.base, path, b);
        if (r.status >= 500) throw new Error(`${r.status} for ${JSON.stringify(b)}: ${r.text}`);
        if (r.status >= 400) expectErrorShape(r, r.status, r.json().error.code);
      }),
      { seed: SEED, numRuns: 300 },
    );
    expect((await post(one.base, "/v1/count", { expr: "TRUE" })).json().count).toBe(N);
  });

  it("L55: GET /v1/entities lists the entities", async () => {
    const r = await http(many.base, "GET", "/v1/entities");
    expect(r.status).toBe(200);
    const names = r.json().entities.map((e: { name: string }) => e.name).sort();
    expect(names).toEqual(KEY_TYPES.map((k) => `k_${k}`).sort());
  });

  it("L55-56: GET /v1/entities/{entity}/tags: name, type, rows with a value, enum distinct values up to a limit", async () => {
    const r = await http(one.base, "GET", "/v1/entities/user/tags");
    expect(r.status).toBe(200);
    const tags = r.json().tags as { name: string; type: string; rowsWithValue: number; values?: { value: string; count: number }[] }[];
    const byName = Object.fromEntries(tags.map((t) => [t.name, t]));
    const types = { age: "int", city: "enum", churned: "bool", spend: "float", interests: "multi", last_order_at: "time" };
    for (const [name, type] of Object.entries(types)) {
      expect(byName[name]?.type, name).toBe(type);
      expect(byName[name]!.rowsWithValue).toBe(ds.rows.filter((row) => row.tags[name] !== null && row.tags[name] !== undefined).length);
    }
    const cities = byName["city"]!.values!;
    expect(cities.map((v) => v.value).sort()).toEqual([...new Set(ds.rows.map((row) => row.tags["city"]).filter((c) => c !== null))].sort());
    for (const v of cities) expect(v.count).toBe(ds.rows.filter((row) => row.tags["city"] === v.value).length);
    const limited = (await http(one.base, "GET", "/v1/entities/user/tags?values=2")).json().tags.find((t: { name: string }) => t.name === "city");
    expect(limited.values).toHaveLength(2);
  });

  it("L56: GET /healthz answers 200; HEAD answers its headers without a body", async () => {
    const r = await http(one.base, "GET", "/healthz");
    expect(r.status).toBe(200);
    expect(r.json().status).toBe("ok");
    // HEAD, then GET on the same keep-alive connection: a body after the HEAD answer would be read as
    // the start of the GET's answer
    const raw = await new Promise<string>((resolve) => {
      const s = connect(one.server.port, "127.0.0.1");
      let out = "";
      let sent = false;
      s.on("data", (d) => {
        out += d.toString("latin1");
        if (!sent && out.includes("\r\n\r\n")) {
          sent = true;
          // give a body, if one were sent, the time to arrive first
          setTimeout(() => s.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 50);
        }
      });
      s.on("close", () => resolve(out));
      s.write("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    });
    const [headPart, ...rest] = raw.split("\r\n\r\n");
    expect(headPart).toMatch(/^HTTP\/1\.1 200 /);
    expect(headPart).toMatch(/\r\nContent-Length: \d+/i);
    expect(rest.join("\r\n\r\n")).toMatch(/^HTTP\/1\.1 200 /);
    expectErrorShape(await http(one.base, "GET", "/healthz/x"), 404, "not_found");
  });

  it("HEAD is answered wherever GET is, the catalog included: GET's status and headers, no body", async () => {
    for (const path of ["/v1/entities", "/v1/catalog/tree", "/v1/catalog/tags"]) {
      const get = await fetch(one.base + path);
      const head = await fetch(one.base + path, { method: "HEAD" });
      expect(head.status, path).toBe(get.status);
      expect(head.headers.get("content-type"), path).toBe(get.headers.get("content-type"));
      expect((await head.arrayBuffer()).byteLength, path).toBe(0);
    }
  });

  it("L56: GET /metrics is Prometheus text (0.0.4): HELP/TYPE comments and `name{labels} value` samples", async () => {
    const r = await http(one.base, "GET", "/metrics");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const declared = new Set<string>();
    for (const line of r.text.split("\n")) {
      if (line === "") continue;
      const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (t) {
        declared.add(t[1]!);
        continue;
      }
      if (line.startsWith("# HELP ")) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
      expect(m, line).not.toBeNull();
      const base = m![1]!.replace(/_(bucket|sum|count)$/, "");
      expect(declared.has(m![1]!) || declared.has(base), line).toBe(true);
    }
  });

  it("routing: an unknown path is 404, a known path with another method 405 with Allow", async () => {
    expectErrorShape(await http(one.base, "GET", "/v1/nothing"), 404, "not_found");
    const r = await http(one.base, "GET", "/v1/count");
    expectErrorShape(r, 405, "method_not_allowed");
    expect(r.headers.get("allow")).toBe("POST");
    const s = await http(one.base, "POST", "/v1/segments/x", { expr: "TRUE" });
    expectErrorShape(s, 405, "method_not_allowed");
    expect(s.headers.get("allow")!.split(/,\s*/).sort()).toEqual(["DELETE", "GET", "HEAD", "PUT"]);
  });
});

// ===================================================================================================
describe("## WebSocket (L58-68, fine print L86-91)", () => {
  let c: WsClient;
  beforeAll(async () => {
    c = await WsClient.open(one.wsUrl);
  });
  afterAll(async () => {
    await c?.close();
  });

  it("L59: ws://HOST:PORT/v1/ws takes binary frames, each one msgpack value; answers are binary msgpack", async () => {
    const ws = new WebSocket(one.wsUrl);
    await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
    const got = new Promise<{ data: Buffer; isBinary: boolean }>((r) => ws.once("message", (data: Buffer, isBinary: boolean) => r({ data, isBinary })));
    ws.send(pack({ id: 1, op: "count", expr: "TRUE" }));
    const { data, isBinary } = await got;
    expect(isBinary).toBe(true);
    expect(unpack(data)).toMatchObject({ id: 1, type: "count", count: N, total: N });
    ws.close();
  });

  it("L61: count → {id, type:count, count, total, tookMs}, matching the oracle", async () => {
    const expr = QUERIES["range and enum"]!;
    c.send({ id: "c1", op: "count", entity: "user", expr: exprText(expr), asOf: AS_OF });
    const f = await c.next((x) => x.id === "c1");
    expect(Object.keys(f).sort()).toEqual(["count", "id", "tookMs", "total", "type"]);
    expect(f).toMatchObject({ type: "count", count: oracleKeys(ds, expr).length, total: N });
    c.send({ id: "c2", op: "count", entity: "user", expr: exprJson(expr) });
    expect((await c.next((x) => x.id === "c2")).count).toBe(oracleKeys(ds, expr).length);
  });

  it("L62-63: select → count first, then ids chunks (seq from 0), then done {count, tookMs}; every match once", async () => {
    const expr = QUERIES["bool or float"]!;
    const want = oracleKeys(ds, expr);
    c.send({ id: "s1", op: "select", entity: "user", expr: exprText(expr), chunk: 37 });
    const frames = await c.collect("s1");
    expect(frames[0]).toMatchObject({ id: "s1", type: "count", count: want.length, total: N });
    const chunks = frames.slice(1, -1);
    chunks.forEach((f, i) => {
      expect(Object.keys(f).sort()).toEqual(["id", "ids", "seq", "type"]);
      expect(f).toMatchObject({ type: "ids", seq: i });
      expect(f.ids.length).toBeLessThanOrEqual(37);
    });
    const done = frames.at(-1);
    expect(Object.keys(done).sort()).toEqual(["count", "id", "tookMs", "type"]);
    expect(done).toMatchObject({ type: "done", count: want.length });
    expect(sortedKeys(chunks.flatMap((f) => f.ids))).toEqual(sortedKeys(want));
  });

  it("L59-60: many requests in flight on one socket, matched by id", async () => {
    const exprs = Object.entries(QUERIES);
    exprs.forEach(([name, e]) => c.send({ id: `m/${name}`, op: "select", expr: exprText(e), asOf: AS_OF, chunk: 50 }));
    const all = await Promise.all(exprs.map(([name]) => c.collect(`m/${name}`)));
    all.forEach((frames, i) => {
      const ids = frames.filter((f) => f.type === "ids").flatMap((f) => f.ids);
      expect(sortedKeys(ids)).toEqual(sortedKeys(oracleKeys(ds, exprs[i]![1])));
    });
  });

  it("L64: a slow reader slows the stream (the server stops reading the answer), and still gets every id", async () => {
    const h = await startServer({ streamHighWaterBytes: 64 << 10 });
    try {
      const rows = 60_000;
      const keys = Array.from({ length: rows }, (_, i) => `k${String(i).padStart(100, "0")}`);
      const t = new Table({ id: vectorFromArray(keys, new Utf8()), on: vectorFromArray(keys.map(() => true), new Bool()) });
      expect((await load(h.base, "big", "id", ipcStreamBytes(t))).status).toBe(200);
      const w = await WsClient.open(h.wsUrl);
      w.ws.pause();
      const before = h.engine.pulled;
      w.send({ id: 1, op: "select", expr: "on", chunk: 500 });
      const stalled = (await settle(() => h.engine.pulled)) - before;
      expect(stalled).toBeLessThan(rows / 500);
      w.ws.resume();
      const frames = await w.collect(1);
      expect(frames.filter((f) => f.type === "ids").reduce((n, f) => n + f.ids.length, 0)).toBe(rows);
      await w.close();
    } finally {
      await h.close();
    }
  });

  it("L65, L88-89: cancel stops a running request; its stream ends with exactly {id: target, type: cancelled}; the cancel has no reply", async () => {
    one.engine.hold();
    try {
      c.send({ id: "victim", op: "select", expr: "TRUE" });
      await until(() => one.engine.waiting === 1, "the select to start");
      c.send({ id: "killer", op: "cancel", target: "victim" });
      expect(await c.next((x) => x.id === "victim")).toEqual({ id: "victim", type: "cancelled" });
    } finally {
      one.engine.release();
    }
    // a finished target: nothing more, and still no reply to the cancel
    c.send({ id: "done1", op: "count", expr: "TRUE" });
    await c.next((x) => x.id === "done1");
    c.send({ id: "k2", op: "cancel", target: "done1" });
    c.send({ id: "after", op: "count", expr: "TRUE" });
    expect(await c.next()).toMatchObject({ id: "after", type: "count" });
    expect(c.frames.filter((f) => ["killer", "k2", "done1", "victim"].includes(f.id))).toEqual([]);
  });

  it("L66: any error is {id, type:error, error:{code, message, at?}} and the socket stays open", async () => {
    c.send({ id: "e1", op: "count", expr: "age >" });
    const e = await c.next((x) => x.id === "e1");
    expect(Object.keys(e).sort()).toEqual(["error", "id", "type"]);
    expect(e).toMatchObject({ type: "error", error: { code: "syntax", message: expect.any(String), at: { line: 1 } } });
    c.send({ id: "e2", op: "select", entity: "nobody", expr: "TRUE" });
    expect(await c.next((x) => x.id === "e2")).toMatchObject({ type: "error", error: { code: "unknown_entity" } });
    c.send({ id: "e3", op: "count", expr: 17 });
    expect(await c.next((x) => x.id === "e3")).toMatchObject({ type: "error", error: { code: "bad_request" } });
    c.send({ id: "ok", op: "count", expr: "TRUE" });
    expect(await c.next((x) => x.id === "ok")).toMatchObject({ type: "count", count: N });
  });

  it("L67-68: a frame that is not msgpack, or lacks id / op, gets an error frame; the server stays up", async () => {
    const w = await WsClient.open(one.wsUrl);
    w.sendRaw(new Uint8Array([0xc1]));
    expect(await w.next()).toMatchObject({ id: null, type: "error", error: { code: "bad_request" } });
    w.send({ op: "count", expr: "TRUE" });
    expect(await w.next()).toMatchObject({ id: null, type: "error" });
    w.send({ id: 9, expr: "TRUE" });
    expect(await w.next()).toMatchObject({ id: 9, type: "error", error: { code: "bad_request" } });
    w.send({ id: 10, op: "frobnicate" });
    expect(await w.next()).toMatchObject({ id: 10, type: "error" });
    w.send({ id: 11, op: "count", expr: "TRUE" });
    expect(await w.next()).toMatchObject({ id: 11, type: "count" });
    await w.close();
    expect((await http(one.base, "GET", "/healthz")).status).toBe(200);
  });

  it("L66-68: seeded random frames (maps of any fields, and raw bytes) each get their answer or error; the server never fails", async () => {
    const w = await WsClient.open(one.wsUrl);
    const value = fc.oneof(
      fc.constantFrom<unknown>("TRUE", "churned AND age > 30", "age >", { tag: "churned" }, { and: [] }, true, null, 5, -1, 2n ** 63n, "user", "nobody", AS_OF, "x"),
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.array(fc.integer(), { maxLength: 3 }),
    );
    const frame = fc.oneof(
      fc.record(
        { op: fc.constantFrom<unknown>("count", "select", "count", "select", "frobnicate", 1, null), entity: value, expr: value, asOf: value, limit: value, chunk: fc.oneof(value, fc.integer({ min: 100, max: 1000 })), timeoutMs: value },
        { requiredKeys: ["op"] },
      ),
      fc.uint8Array({ minLength: 1, maxLength: 40 }),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(frame, async (f) => {
        if (f instanceof Uint8Array) {
          w.sendRaw(f);
          // bytes that decode to no map with an id are answered on id null
          const r = await w.next();
          expect(r.type).toBe("error");
          return;
        }
        const id = `fz${n++}`;
        w.send({ ...f, id });
        for (;;) {
          const r = await w.next((x) => x.id === id);
          if (r.type === "error") {
            expect(r.error.code).not.toMatch(/^(internal|kernel_fault|io_error)$/);
            expect(typeof r.error.message).toBe("string");
          }
          if (r.type === "error" || r.type === "done" || (r.type === "count" && f.op === "count")) break;
        }
      }),
      { seed: SEED, numRuns: 250 },
    );
    expect(w.frames).toEqual([]);
    w.send({ id: "alive", op: "count", expr: "TRUE" });
    expect(await w.next()).toMatchObject({ id: "alive", type: "count", count: N });
    await w.close();
  });

  it("L86: id is any msgpack string (any length) or integer (negative, 64-bit), echoed as given", async () => {
    const ids: unknown[] = ["", "a", "x".repeat(1000), "键-🔑", 0, -1, 2 ** 31, 2 ** 53 - 1, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n];
    for (const id of ids) c.send({ id, op: "count", expr: "TRUE" });
    for (const id of ids) {
      const f = await c.next((x) => x.id === id);
      expect(f).toMatchObject({ type: "count", count: N });
    }
  });

  it("L86: entity may be omitted when the store has one; with several it is an error on that id", async () => {
    c.send({ id: "noent", op: "count", expr: "churned" });
    expect((await c.next((x) => x.id === "noent")).count).toBe(oracleKeys(ds, tag("churned")).length);
    const w = await WsClient.open(many.wsUrl);
    w.send({ id: 1, op: "count", expr: "TRUE" });
    expect(await w.next()).toMatchObject({ id: 1, type: "error", error: { code: "bad_request" } });
    await w.close();
  });

  it("L86-87: keys use the JSON encoding (64-bit as decimal strings, 32-bit as numbers)", async () => {
    const w = await WsClient.open(many.wsUrl);
    for (const kt of KEY_TYPES) {
      const expr = cmp("age", ">", 30);
      w.send({ id: kt, op: "select", entity: `k_${kt}`, expr: exprText(expr) });
      const ids = (await w.collect(kt)).filter((f) => f.type === "ids").flatMap((f) => f.ids);
      for (const k of ids) expect(typeof k).toBe(kt === "int32" || kt === "uint32" ? "number" : "string");
      expect(sortedKeys(ids)).toEqual(sortedKeys(oracleKeys(byType[kt], expr)));
    }
    await w.close();
  });

  it("L87-88: chunk defaults to 65,536 ids per frame; seq starts at 0", async () => {
    const h = await startServer();
    try {
      const rows = 70_000;
      const keys = Array.from({ length: rows }, (_, i) => i);
      const t = new Table({ id: vectorFromArray(Int32Array.from(keys)), on: vectorFromArray(keys.map(() => true), new Bool()) });
      expect((await load(h.base, "n", "id", ipcStreamBytes(t))).status).toBe(200);
      const w = await WsClient.open(h.wsUrl);
      w.send({ id: 0, op: "select", expr: "on" });
      const chunks = (await w.collect(0)).filter((f) => f.type === "ids");
      expect(chunks.map((f) => [f.seq, f.ids.length])).toEqual([
        [0, 65_536],
        [1, rows - 65_536],
      ]);
      await w.close();
    } finally {
      await h.close();
    }
  });

  it("L88: chunk is the most ids per frame: a huge chunk is honoured as 'as many as the server sends at once'; 0 is bad_request", async () => {
    c.send({ id: "bigchunk", op: "select", expr: "TRUE", chunk: 2 ** 40 });
    const frames = await c.collect("bigchunk");
    expect(frames.at(-1).type).toBe("done");
    expect(frames.filter((f) => f.type === "ids").flatMap((f) => f.ids)).toHaveLength(N);
    c.send({ id: "bigchunk64", op: "select", expr: "TRUE", chunk: 2n ** 63n, limit: 2n ** 63n });
    expect((await c.collect("bigchunk64")).at(-1)).toMatchObject({ type: "done", count: N });
    c.send({ id: "chunk0", op: "select", expr: "TRUE", chunk: 0 });
    expect(await c.next((x) => x.id === "chunk0")).toMatchObject({ type: "error", error: { code: "bad_request" } });
  });

  it("L64 (limit): select with limit sends at most limit ids; limit 0 is count then done", async () => {
    const want = oracleKeys(ds, tag("churned")).length;
    c.send({ id: "l5", op: "select", expr: "churned", limit: 5, chunk: 2 });
    const l5 = await c.collect("l5");
    expect(l5.filter((f) => f.type === "ids").flatMap((f) => f.ids)).toHaveLength(5);
    expect(l5[0].count).toBe(want);
    c.send({ id: "l0", op: "select", expr: "churned", limit: 0 });
    const l0 = await c.collect("l0");
    expect(l0.map((f) => f.type)).toEqual(["count", "done"]);
    expect(l0[1].count).toBe(want);
  });

  it("L89-90: a text frame is answered as an invalid frame", async () => {
    const w = await WsClient.open(one.wsUrl);
    w.sendRaw(JSON.stringify({ id: 1, op: "count", expr: "TRUE" }));
    expect(await w.next()).toMatchObject({ id: null, type: "error", error: { code: "bad_request" } });
    w.send({ id: 2, op: "count", expr: "TRUE" });
    expect(await w.next()).toMatchObject({ id: 2, type: "count" });
    await w.close();
  });

  it("L90-91: a frame over the frame limit may drop that connection (1009), and only that one", async () => {
    const h = await startServer({ maxFrameBytes: 64 << 10 });
    try {
      const small = new Table({ id: vectorFromArray(["a"], new Utf8()), on: vectorFromArray([true], new Bool()) });
      expect((await load(h.base, "t", "id", ipcStreamBytes(small))).status).toBe(200);
      const other = await WsClient.open(h.wsUrl);
      const w = await WsClient.open(h.wsUrl);
      w.sendRaw(pack({ id: 1, op: "count", expr: "x".repeat(100 << 10) }));
      expect([1009, 1006]).toContain(await w.closed());
      other.send({ id: 1, op: "count", expr: "on" });
      expect(await other.next()).toMatchObject({ id: 1, type: "count", count: 1 });
      await other.close();
    } finally {
      await h.close();
    }
  });
});

// ===================================================================================================
describe("## Saved segments (L70-74, fine print L92-94)", () => {
  let h: Harness;
  let d: DataSet;
  beforeAll(async () => {
    h = await startServer();
    d = dataSet(400, SEED + 8);
    expect((await load(h.base, "user", "user_id", ipcStreamBytes(d.table))).status).toBe(200);
    const other = new Table({ sku: vectorFromArray(["p1", "p2"], new Utf8()), on: vectorFromArray([true, false], new Bool()) });
    expect((await load(h.base, "product", "sku", ipcStreamBytes(other))).status).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("L71, L92: PUT creates (201) and replaces (200), answering with the stored segment", async () => {
    const r1 = await http(h.base, "PUT", "/v1/segments/young", { entity: "user", expr: "age BETWEEN 18 AND 30", description: "young" });
    expect(r1.status, r1.text).toBe(201);
    expect(r1.json()).toMatchObject({ name: "young", entity: "user", description: "young" });
    expect(typeof r1.json().expr).toBe("string");
    const r2 = await http(h.base, "PUT", "/v1/segments/young", { entity: "user", expr: exprJson(between("age", 18, 25)) });
    expect(r2.status, r2.text).toBe(200);
    expect(r2.json()).toMatchObject({ name: "young", entity: "user" });
    const c = (await post(h.base, "/v1/count", { entity: "user", expr: "@young" })).json();
    expect(c.count).toBe(oracleKeys(d, between("age", 18, 25)).length);
  });

  it("L71-72: the expression is checked first (errors as for queries), and a cycle is segment_cycle", async () => {
    expectErrorShape(await http(h.base, "PUT", "/v1/segments/bad", { entity: "user", expr: "age >" }), 400, "syntax");
    expectErrorShape(await http(h.base, "PUT", "/v1/segments/bad", { entity: "user", expr: "agee > 3" }), 400, "unknown_tag");
    expectErrorShape(await http(h.base, "PUT", "/v1/segments/bad", { entity: "user" }), 400, "bad_request");
    expectErrorShape(await http(h.base, "PUT", "/v1/segments/bad", { entity: "nobody", expr: "TRUE" }), 404, "unknown_entity");
    expectErrorShape(await http(h.base, "PUT", "/v1/segments/bad", { entity: "user", expr: "@nope" }), 404, "unknown_segment");
    expectErrorShape(await http(h.base, "GET", "/v1/segments/bad"), 404, "unknown_segment");
    // @a → @b → @a, and a self-reference
    expect((await http(h.base, "PUT", "/v1/segments/cyc_a", { entity: "user", expr: "churned" })).status).toBe(201);
    expect((await http(h.base, "PUT", "/v1/segments/cyc_b", { entity: "user", expr: "@cyc_a AND age > 30" })).status).toBe(201);
    expectErrorShape(await http(h.base, "PUT", "/v1/segments/cyc_a", { entity: "user", expr: "@cyc_b" }), 400, "segment_cycle");
    expectErrorShape(await http(h.base, "PUT", "/v1/segments/self", { entity: "user", expr: "@self OR churned" }), 400, "segment_cycle");
    // SEL fine print: a segment of another entity is type_mismatch
    expect((await http(h.base, "PUT", "/v1/segments/prod_on", { entity: "product", expr: "on" })).status).toBe(201);
    expectErrorShape(await post(h.base, "/v1/count", { entity: "user", expr: "@prod_on" }), 400, "type_mismatch");
  });

  it("L73: GET /v1/segments lists them; GET /v1/segments/{name} gives one with its current count", async () => {
    expect((await http(h.base, "PUT", "/v1/segments/listed", { entity: "user", expr: "churned" })).status).toBe(201);
    const list = await http(h.base, "GET", "/v1/segments");
    expect(list.status).toBe(200);
    expect(list.json().segments.map((s: { name: string }) => s.name)).toContain("listed");
    const one_ = await http(h.base, "GET", "/v1/segments/listed");
    expect(one_.status).toBe(200);
    expect(one_.json()).toMatchObject({ name: "listed", entity: "user", count: oracleKeys(d, tag("churned")).length });
    // current: a load changes the count
    const flip = new Table({ user_id: vectorFromArray(d.rows.map((r) => r.key as string), new Utf8()), churned: vectorFromArray(d.rows.map(() => true), new Bool()) });
    expect((await load(h.base, "user", "user_id", ipcStreamBytes(flip))).status).toBe(200);
    expect((await http(h.base, "GET", "/v1/segments/listed")).json().count).toBe(400);
  });

  it("SEL fine print: @name is evaluated at the query's asOf", async () => {
    expect((await http(h.base, "PUT", "/v1/segments/recent", { entity: "user", expr: "last_order_at WITHIN 30 DAYS" })).status).toBe(201);
    // (age: an earlier test rewrites churned in this store)
    const r = await post(h.base, "/v1/count", { entity: "user", expr: "@recent AND age > 30", asOf: AS_OF });
    expect(r.json().count).toBe(oracleKeys(d, and(within("last_order_at", 30, "day"), cmp("age", ">", 30))).length);
    expect(r.json().count).toBeGreaterThan(0);
  });

  it("L94: GET /v1/segments/{name} counts at the server's now", async () => {
    const day = 86_400_000;
    const now = Date.now();
    const t = new Table({
      id: vectorFromArray(["recent", "old", "future"], new Utf8()),
      seen_at: vectorFromArray([now - 2 * day, now - 40 * day, now + 10 * day], new TimestampMillisecond()),
    });
    expect((await load(h.base, "visits", "id", ipcStreamBytes(t))).status).toBe(200);
    expect((await http(h.base, "PUT", "/v1/segments/last30", { entity: "visits", expr: "seen_at WITHIN 30 DAYS" })).status).toBe(201);
    expect((await http(h.base, "GET", "/v1/segments/last30")).json().count).toBe(1);
  });

  it("L73-74, L93: DELETE removes; deleting a referenced segment is 409 segment_in_use naming the referrers", async () => {
    expect((await http(h.base, "PUT", "/v1/segments/base_seg", { entity: "user", expr: "age > 50" })).status).toBe(201);
    expect((await http(h.base, "PUT", "/v1/segments/ref_one", { entity: "user", expr: "@base_seg AND churned" })).status).toBe(201);
    expect((await http(h.base, "PUT", "/v1/segments/ref_two", { entity: "user", expr: "NOT @base_seg" })).status).toBe(201);
    const e = expectErrorShape(await http(h.base, "DELETE", "/v1/segments/base_seg"), 409, "segment_in_use");
    expect(e.message).toContain("ref_one");
    expect(e.message).toContain("ref_two");
    for (const n of ["ref_one", "ref_two", "base_seg"]) expect((await http(h.base, "DELETE", `/v1/segments/${n}`)).status).toBe(200);
    expectErrorShape(await http(h.base, "GET", "/v1/segments/base_seg"), 404, "unknown_segment");
    expectErrorShape(await http(h.base, "DELETE", "/v1/segments/base_seg"), 404, "unknown_segment");
  });

  it("SEL fine print: segment names are 1-128 of letters, digits, _ - . (case-sensitive)", async () => {
    for (const name of ["a", "A.b-c_9", "x".repeat(128), "城市"]) {
      const r = await http(h.base, "PUT", `/v1/segments/${encodeURIComponent(name)}`, { entity: "user", expr: "churned" });
      expect(r.status, `${name}: ${r.text}`).toBe(201);
    }
    expect((await http(h.base, "GET", "/v1/segments/a")).status).toBe(200);
    expectErrorShape(await http(h.base, "GET", "/v1/segments/A"), 404, "unknown_segment");
    for (const name of ["x".repeat(129), "a b", "a/b", "a@b"]) {
      expectErrorShape(await http(h.base, "PUT", `/v1/segments/${encodeURIComponent(name)}`, { entity: "user", expr: "churned" }), 400, "bad_request");
    }
  });
});

// ===================================================================================================
describe("## Fine print: bodies and select (L77-85)", () => {
  it("L77: a count/select body of exactly 1 MiB is read; one byte more is payload_too_large (413)", async () => {
    const MiB = 1 << 20;
    const padded = (size: number) => {
      const head = JSON.stringify({ expr: "TRUE", pad: "" });
      return head.slice(0, -2) + "x".repeat(size - head.length) + '"}';
    };
    expect(padded(MiB).length).toBe(MiB);
    for (const path of ["/v1/count", "/v1/select"]) {
      expect((await post(one.base, path, padded(MiB))).status).toBe(200);
      expectErrorShape(await post(one.base, path, padded(MiB + 1)), 413, "payload_too_large");
    }
    // also when the size is only known as it streams (chunked)
    const big = Buffer.from(padded(MiB + 100));
    const raw = await rawHttp(
      one.server.port,
      Buffer.concat([
        Buffer.from("POST /v1/count HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Buffer.from(big.length.toString(16) + "\r\n"),
        big,
        Buffer.from("\r\n0\r\n\r\n"),
      ]),
    );
    expect(raw).toMatch(/^HTTP\/1\.1 413 /);
    expect((await post(one.base, "/v1/count", { expr: "TRUE" })).status).toBe(200);
  });

  it("L77-78: the SEL text limit (64 KiB of UTF-8) is too_large; exactly 64 KiB is not", async () => {
    const limit = 64 * 1024;
    // `churned OR churned OR … ` padded with spaces to the byte
    const text = (bytes: number) => {
      let t = "churned";
      while (t.length + 11 <= bytes - 1) t += " OR churned";
      return t + " ".repeat(bytes - t.length);
    };
    expect(Buffer.byteLength(text(limit))).toBe(limit);
    const ok = await post(one.base, "/v1/count", { expr: text(limit) });
    expect(ok.status, ok.text.slice(0, 200)).toBe(200);
    expectErrorShape(await post(one.base, "/v1/count", { expr: text(limit + 1) }), 400, "too_large");
    // counted in UTF-8 bytes, not characters: 3-byte characters in a string literal
    const wide = "city = '" + "上".repeat(Math.ceil(limit / 3)) + "'";
    expect(wide.length).toBeLessThan(limit);
    expectErrorShape(await post(one.base, "/v1/count", { expr: wide }), 400, "too_large");
  });

  it("L78: the text limit applies to text; a JSON-form expression larger than 64 KiB is not too_large", async () => {
    const values = Array.from({ length: 8000 }, (_, i) => `city-${i}`);
    const expr = { in: ["city", ["上海", ...values]] };
    expect(JSON.stringify(expr).length).toBeGreaterThan(64 * 1024);
    const r = await post(one.base, "/v1/count", { expr });
    expect(r.status, r.text.slice(0, 200)).toBe(200);
    expect(r.json().count).toBe(oracleKeys(ds, inList("city", "上海")).length);
  });

  it("L78-79: a body that is JSON but not an object is bad_request", async () => {
    for (const body of ["[]", "[1]", "42", '"TRUE"', "null", "true"]) {
      expectErrorShape(await post(one.base, "/v1/count", body), 400, "bad_request");
      expectErrorShape(await post(one.base, "/v1/select", body), 400, "bad_request");
    }
  });

  it("L79: an expr that is neither a string nor an object is bad_request (naming expr)", async () => {
    // JSON `true` / `false` are not probed as errors: SEL.md's JSON form has them as the constants TRUE / FALSE
    // ("the same tree as JSON"), so they are expressions (docs/api.md says so); numbers, arrays and null are not.
    for (const expr of [0, 42, 1.5, [], ["churned"], null]) {
      const e = expectErrorShape(await post(one.base, "/v1/count", { expr }), 400, "bad_request");
      expect(e.message).toContain("expr");
    }
  });

  it("L84: limit 0 returns no ids and the full count, in every format", async () => {
    const want = oracleKeys(ds, tag("churned")).length;
    const body = { expr: "churned", limit: 0 };
    expect((await post(one.base, "/v1/select", body)).json()).toEqual({ count: want, ids: [] });
    const nd = await selectRaw(one, body, "application/x-ndjson");
    expect(await nd.text()).toBe("");
    expect(nd.headers.get("x-lasso-count")).toBe(String(want));
    const csv = await selectRaw(one, body, "text/csv");
    expect(await csv.text()).toBe("id\r\n");
    expect(csv.headers.get("x-lasso-count")).toBe(String(want));
    const ar = await selectRaw(one, body, "application/vnd.apache.arrow.stream");
    const t = tableFromIPC(new Uint8Array(await ar.arrayBuffer()));
    expect(t.numRows).toBe(0);
    expect(t.schema.fields.map((f) => f.name)).toEqual(["id"]);
    expect(ar.headers.get("x-lasso-count")).toBe(String(want));
  });

  it("L84: NDJSON has one JSON key per line (keys with quotes, backslashes, newlines and U+2028 stay on their line)", async () => {
    const h = await startServer();
    try {
      const keys = ['a"b', "back\\slash", "new\nline", "cr\rlf", "tab\tx", "ls\u2028ps\u2029", "nul\u0000", "上海", " x "];
      const t = new Table({ id: vectorFromArray(keys, new Utf8()), on: vectorFromArray(keys.map(() => true), new Bool()) });
      expect((await load(h.base, "odd", "id", ipcStreamBytes(t))).status).toBe(200);
      const text = await (await selectRaw(h, { expr: "on" }, "application/x-ndjson")).text();
      const lines = text.split("\n");
      expect(lines.pop()).toBe("");
      expect(lines).toHaveLength(keys.length);
      expect(lines.map((l) => JSON.parse(l)).sort()).toEqual([...keys].sort());
      const csv = parseCsv(await (await selectRaw(h, { expr: "on" }, "text/csv")).text());
      expect(csv.slice(1).map((r) => r[0]).sort()).toEqual([...keys].sort());
    } finally {
      await h.close();
    }
  });

  // The empty string is a Utf8 key like any other. Written bare, its CSV record is an empty line, which
  // RFC 4180's grammar reads as one empty field but common readers (Python's csv, pandas) read as no
  // record at all. Quoted (`""`) every reader agrees. The CSV text is written by the engine
  // (engine/store/key-batch.ts csvField quotes it).
  it("L84-85: CSV: an empty-string key is a quoted empty field, not a blank line", async () => {
    const h = await startServer();
    try {
      const t = new Table({ id: vectorFromArray(["a", ""], new Utf8()), on: vectorFromArray([true, true], new Bool()) });
      expect((await load(h.base, "e", "id", ipcStreamBytes(t))).status).toBe(200);
      const text = await (await selectRaw(h, { expr: "on" }, "text/csv")).text();
      expect(text).toBe('id\r\na\r\n""\r\n');
    } finally {
      await h.close();
    }
  });

  it("L85: an empty Arrow answer is a schema-only stream (schema message, then end-of-stream)", async () => {
    for (const kt of KEY_TYPES) {
      const r = await selectRaw(many, { entity: `k_${kt}`, expr: "FALSE" }, "application/vnd.apache.arrow.stream");
      const bytes = new Uint8Array(await r.arrayBuffer());
      const t = tableFromIPC(bytes);
      expect(t.numRows).toBe(0);
      expect(t.schema.fields.map((f) => f.name)).toEqual(["id"]);
      // (apache-arrow's reader makes up one empty batch for a schema-only stream: read the framing itself)
      // one message (continuation, metadata length, metadata; a schema has no body), then end-of-stream
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      expect(view.getUint32(0, true)).toBe(0xffffffff);
      const metadata = view.getInt32(4, true);
      expect(bytes.length).toBe(8 + metadata + 8);
      expect([...bytes.subarray(bytes.length - 8)]).toEqual([255, 255, 255, 255, 0, 0, 0, 0]);
    }
  });
});

// ---------------------------------------------------------------------------------------------------

