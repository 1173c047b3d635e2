/**
 * Identities and the tag lifecycle through the real server: open single-user mode, then multi-user
 * mode with bearer tokens (401 / 403), loads creating draft tags that queries see only with
 * includeDrafts, review by someone other than the submitter, `tag_disabled`, the catalog REST API,
 * and WebSocket upgrades that need a token.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack, unpack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Engine } from "../../engine/api.js";
import { openEngine } from "../../engine/index.js";
import { createServer, type LassoServer } from "../../server/app.js";
import { LOCAL_PRINCIPAL } from "../../engine/catalog/index.js";
import { expectError, http, ipcStreamBytes, keyAt, load, usersTable } from "./harness.js";
import { tableFromArrays } from "apache-arrow";

let dir: string;
let engine: Engine;
let server: LassoServer;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lasso-auth-"));
  engine = await openEngine({ dataDir: dir, threads: 0, usageFlushMs: 0 });
  server = await createServer(engine, { port: 0 });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.close(1000);
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe("identities and lifecycle through the server", () => {
  const tokens: Record<string, string> = {};

  it("open mode: no token needed, loaded tags are published at once", async () => {
    const r = await load(base, "user", "user_id", ipcStreamBytes(usersTable(50, 1)));
    expect(r.status).toBe(200);
    const c = await http(base, "POST", "/v1/count", { expr: "TRUE" });
    expect(c.json()).toMatchObject({ count: 50, total: 50 });
    const tag = await http(base, "GET", "/v1/catalog/tags/user/city");
    expect(tag.status).toBe(200);
    expect(tag.json()).toMatchObject({ status: "published" });
  });

  it("multi-user mode: requests need a valid token and a role that allows the action", async () => {
    for (const [name, roles] of [["ana", ["analyst"]], ["lou", ["loader"]], ["rita", ["reviewer", "tag_admin"]], ["owen", ["tag_admin", "analyst"]]] as const) {
      tokens[name] = engine.tagCatalog.addUser(name, [...roles], LOCAL_PRINCIPAL).token;
    }
    expectError(await http(base, "POST", "/v1/count", { expr: "TRUE" }), 401, "unauthorized");
    expectError(await http(base, "POST", "/v1/count", { expr: "TRUE" }, bearer("not-a-token")), 401, "unauthorized");
    expect((await http(base, "POST", "/v1/count", { expr: "TRUE" }, bearer(tokens["ana"]!))).json()).toMatchObject({ count: 50 });
    const bytes = ipcStreamBytes(usersTable(5, 2));
    const denied = await http(base, "POST", "/v1/entities/user/load?key=user_id", bytes, { "content-type": "application/vnd.apache.arrow.stream", ...bearer(tokens["ana"]!) });
    expectError(denied, 403, "forbidden");
    expect((await http(base, "GET", "/healthz")).status).toBe(200);
  });

  it("a tag created by a load starts as a draft; queries use it only with includeDrafts", async () => {
    const t = tableFromArrays({ user_id: [0, 1, 2].map((i) => String(keyAt("utf8", i))), new_flag: [true, false, true] });
    const r = await http(base, "POST", "/v1/entities/user/load?key=user_id", ipcStreamBytes(t), {
      "content-type": "application/vnd.apache.arrow.stream",
      ...bearer(tokens["lou"]!),
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json().newTags).toEqual(["new_flag"]);
    const draft = await http(base, "POST", "/v1/count", { expr: "new_flag" }, bearer(tokens["ana"]!));
    const err = expectError(draft, 400, "unknown_tag");
    expect(err.at).toEqual({ line: 1, column: 1, length: 8 });
    const withDrafts = await http(base, "POST", "/v1/count", { expr: "new_flag", includeDrafts: true }, bearer(tokens["ana"]!));
    expect(withDrafts.json()).toMatchObject({ count: 2 });
  });

  it("review: the owner submits, another reviewer approves; disabled tags are refused", async () => {
    const path = "/v1/catalog/tags/user/new_flag";
    // the load's actor owns the tag: lou may not submit (no manage rights), so an admin hands it to owen
    const read = await http(base, "GET", path, undefined, bearer(tokens["rita"]!));
    const patched = await http(base, "PATCH", path, { owner: "owen", version: read.json().version }, bearer(tokens["rita"]!));
    expect(patched.status, patched.text).toBe(200);
    const submit = await http(base, "POST", `${path}/transitions`, { to: "pending_review", reason: "ready" }, bearer(tokens["owen"]!));
    expect(submit.status, submit.text).toBe(200);
    const approve = await http(base, "POST", `${path}/transitions`, { to: "published", reason: "looks right" }, bearer(tokens["rita"]!));
    expect(approve.status, approve.text).toBe(200);
    expect((await http(base, "POST", "/v1/count", { expr: "new_flag" }, bearer(tokens["ana"]!))).json()).toMatchObject({ count: 2 });
    for (const to of ["deprecated", "disabled"]) {
      const r = await http(base, "POST", `${path}/transitions`, { to, reason: `step to ${to}` }, bearer(tokens["rita"]!));
      expect(r.status, r.text).toBe(200);
    }
    expectError(await http(base, "POST", "/v1/count", { expr: "new_flag OR TRUE" }, bearer(tokens["ana"]!)), 409, "tag_disabled");
    const audit = await http(base, "GET", "/v1/catalog/audit?tag=new_flag&entity=user", undefined, bearer(tokens["rita"]!));
    expect(audit.status, audit.text).toBe(200);
    expect(JSON.stringify(audit.json())).toContain("disabled");
  });

  it("WebSocket upgrades need a token (header or ?token=)", async () => {
    const url = `ws://127.0.0.1:${server.port}/v1/ws`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
    });
    expect(refused).toBe(401);
    const ws = new WebSocket(`${url}?token=${encodeURIComponent(tokens["ana"]!)}`);
    await new Promise((r, j) => (ws.on("open", r), ws.on("error", j)));
    const reply = new Promise<Record<string, unknown>>((r) => ws.once("message", (m) => r(unpack(m as Buffer))));
    ws.send(pack({ id: 1, op: "count", expr: "TRUE" }));
    expect(await reply).toMatchObject({ id: 1, type: "count", count: 50 });
    ws.close();
  });
});
