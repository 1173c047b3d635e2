/**
 * bench/overhead.ts on real parts: a real server on loopback over a real engine, its lean WebSocket and
 * raw-socket HTTP load generators, answers checked against the oracle. What is asserted is behaviour
 * (every target measured in every round, every answer checked, a wrong answer stops the run), never speed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer as createHttpServer } from "node:http";
import { httpDriver, measureOverhead, overheadMd, type OverheadQuery } from "../../bench/overhead.js";
import { parseExpr } from "../../engine/expr/index.js";
import { AS_OF, dataSet, ipcStreamBytes, load, oracleKeys, startServer, type DataSet, type Harness } from "../server/harness.js";

let h: Harness;
let ds: DataSet;
const EXPRS = ["churned", "age BETWEEN 25 AND 40 AND city IN ('上海', '北京')", "interests HAS ANY ('music', 'food') OR spend > 500", "last_order_at WITHIN 30 DAYS"];

beforeAll(async () => {
  h = await startServer();
  ds = dataSet(3_000, 7);
  expect((await load(h.base, "user", "user_id", ipcStreamBytes(ds.table))).status).toBe(200);
});
afterAll(() => h.close());

const oracleQueries = (): OverheadQuery[] => EXPRS.map((expr) => ({ expr, count: oracleKeys(ds, parseExpr(expr)).length }));

describe("measureOverhead", () => {
  it("measures the engine, WebSocket and HTTP in turns, every answer equal to the oracle's", async () => {
    const queries = oracleQueries();
    expect(queries.some((q) => q.count > 0 && q.count < 3_000)).toBe(true);
    const rows = await measureOverhead({
      engine: h.engine, entity: "user", asOf: AS_OF, queries, url: h.base, serverPid: process.pid,
      inFlight: [1, 4], rounds: 2, roundSeconds: 0.2,
    });
    expect(rows.map((r) => r.inFlight)).toEqual([1, 4]);
    for (const r of rows) {
      for (const t of ["engine", "ws", "http"] as const) {
        expect(r.rounds[t]).toHaveLength(2);
        for (const f of r.rounds[t]) {
          expect(f.queriesPerSec).toBeGreaterThan(0);
          expect(f.answerCpuMs).toBeGreaterThanOrEqual(0);
          expect(f.clientCpuMs === undefined).toBe(t === "engine");
        }
      }
      expect(Number.isFinite(r.overhead.ws) && Number.isFinite(r.overhead.http)).toBe(true);
    }
    const md = overheadMd(rows, { rounds: 2, roundSeconds: 0.2 });
    expect(md.split("\n").filter((l) => /^\| (1|4) \|/.test(l))).toHaveLength(2);
  });

  it("stops with the query and both answers when a target's count differs from the expected one", async () => {
    const queries = oracleQueries();
    queries[1] = { ...queries[1]!, count: queries[1]!.count + 1 };
    await expect(
      measureOverhead({ engine: h.engine, entity: "user", asOf: AS_OF, queries, url: h.base, serverPid: process.pid, inFlight: [2], rounds: 1, roundSeconds: 0.1 }),
    ).rejects.toThrow(/query 1 .*age BETWEEN.* answered \d+, the engine said \d+/);
  });

  it("HTTP load generator: a keep-alive connection the server closed while idle is replaced, not written to", async () => {
    // a server that closes every keep-alive connection once it has answered (uWS does after 10 s idle)
    const server = createHttpServer((req, res) => {
      req.resume();
      const body = JSON.stringify({ count: 42 });
      res.on("finish", () => setImmediate(() => req.socket.destroy()));
      req.on("end", () => res.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const d = httpDriver({ url: `http://127.0.0.1:${port}`, entity: "user", asOf: AS_OF, queries: [{ expr: "churned", count: 42 }] }, 2);
    try {
      expect(await d.send(0)).toBe(42);
      await new Promise((r) => setTimeout(r, 200));
      expect(await d.send(0)).toBe(42);
    } finally {
      d.close();
      await new Promise((r) => server.close(r));
    }
  });
});
