/**
 * Keys per second from a running server to a client in this process, per transport and format, for
 * the workload's broadest select (seg-v1: q18, ≈50% of the entities).
 *
 * Each client reads every key's bytes and finds each key in them, without making a JS value per key
 * (that is the client's cost, not the server's; LassoClient's full decoding is measured too):
 * - HTTP NDJSON / CSV / JSON: the separators are counted (Buffer.indexOf).
 * - HTTP Arrow: the IPC stream is read with apache-arrow's RecordBatchReader, rows summed.
 * - WebSocket, frames: each `ids` frame's msgpack array length is read from its header.
 * - WebSocket, LassoClient: keys decoded to JS strings (what `for await (const ids of client.select())` costs).
 * - HTTP NDJSON through `curl | wc -l` (when curl is installed): a native client, so the figure is the
 *   server's rate rather than a Node client's.
 * Every answer must hold exactly `count` keys, or the run fails.
 */
import { spawn, spawnSync } from "node:child_process";
import { RecordBatchReader } from "apache-arrow";
import { Packr, Unpackr } from "msgpackr";
import WebSocket from "ws";
import { LassoClient } from "../server/client.js";
import { median } from "./stats.js";
import type { Workload } from "./workload.js";

export interface KeyRate {
  transport: string;
  format: string;
  keys: number;
  medianMs: number;
  keysPerSec: number;
}

interface Query {
  entity: string;
  expr: string;
  asOf?: string;
}

async function httpKeys(url: string, q: Query, accept: string): Promise<number> {
  const res = await fetch(`${url}/v1/select`, {
    method: "POST",
    headers: { "content-type": "application/json", accept },
    body: JSON.stringify(q),
  });
  if (!res.ok || !res.body) throw new Error(`POST /v1/select (${accept}): HTTP ${res.status}`);
  if (accept === "application/vnd.apache.arrow.stream") {
    let rows = 0;
    const reader = await RecordBatchReader.from(res.body as unknown as AsyncIterable<Uint8Array>);
    for await (const batch of reader) rows += batch.numRows;
    return rows;
  }
  // NDJSON and CSV end every key with LF; JSON separates keys with commas, and one comma follows "count"
  const sep = accept === "application/json" ? 0x2c : 0x0a;
  let n = 0;
  let tail = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let i = b.indexOf(sep); i >= 0; i = b.indexOf(sep, i + 1)) n++;
    tail = (tail + b.subarray(Math.max(0, b.length - 3)).toString("latin1")).slice(-3);
  }
  const emptyIds = tail === "[]}";
  if (accept === "text/csv") return n - 1; // the header line
  if (accept === "application/json") return emptyIds ? 0 : n;
  return n;
}

const IDS_KEY = Buffer.from([0xa3, 0x69, 0x64, 0x73]);

/**
 * Keys in one `ids` frame, read from the msgpack array header after the "ids" key (the bytes of the
 * key also spell the value of `type`, so the occurrence followed by an array header is the one).
 */
function idsInFrame(frame: Buffer): number {
  for (let at = frame.indexOf(IDS_KEY); at >= 0; at = frame.indexOf(IDS_KEY, at + 1)) {
    const h = at + IDS_KEY.length;
    const t = frame[h]!;
    if ((t & 0xf0) === 0x90) return t & 0x0f;
    if (t === 0xdc) return frame.readUInt16BE(h + 1);
    if (t === 0xdd) return frame.readUInt32BE(h + 1);
  }
  throw new Error("ids frame without an ids array");
}

async function wsFrameKeys(ws: WebSocket, q: Query, id: number): Promise<number> {
  const packr = new Packr({ useRecords: false });
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
  return new Promise((resolve, reject) => {
    let n = 0;
    const onMessage = (data: Buffer) => {
      // ids frames are the large ones; the others (count, done, error) are decoded
      if (data.length > 256) {
        n += idsInFrame(data);
        return;
      }
      const f = unpackr.unpack(data) as { type: string; error?: { message: string } };
      if (f.type === "ids") n += idsInFrame(data);
      else if (f.type === "done") {
        ws.off("message", onMessage);
        resolve(n);
      } else if (f.type === "error") {
        ws.off("message", onMessage);
        reject(new Error(f.error?.message ?? "error frame"));
      }
    };
    ws.on("message", onMessage);
    ws.send(packr.pack({ id, op: "select", ...q }));
  });
}

/** NDJSON keys counted by `curl … | wc -l`. */
function curlKeys(url: string, q: Query): Promise<number> {
  const cmd = `curl -sS --fail -H 'content-type: application/json' -H 'accept: application/x-ndjson' --data-binary @- ${url}/v1/select | wc -l`;
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", cmd], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`curl | wc -l exited with ${code}`))));
    child.stdin.end(JSON.stringify(q));
  });
}

function hasCurl(): boolean {
  return spawnSync("curl", ["--version"], { stdio: "ignore" }).status === 0;
}

async function clientKeys(client: LassoClient, q: Query): Promise<number> {
  let n = 0;
  for await (const ids of client.select(q.expr, { entity: q.entity, ...(q.asOf ? { asOf: q.asOf } : {}) })) n += ids.length;
  return n;
}

export async function measureKeyRates(url: string, w: Workload, opts: { samples: number; log?: (line: string) => void }): Promise<KeyRate[]> {
  const selects = w.queries.filter((q) => q.op === "select");
  if (selects.length === 0) return [];
  // the broadest select is the one the ids/s target speaks of
  const client = new LassoClient(url);
  let best = selects[0]!;
  let bestCount = -1;
  for (const s of selects) {
    const c = (await client.count(s.expr, { entity: w.entity, ...(w.asOf ? { asOf: w.asOf } : {}) })).count;
    if (c > bestCount) {
      best = s;
      bestCount = c;
    }
  }
  if (typeof best.expr !== "string") throw new Error(`${best.id}: keys/s needs a text expression`);
  const q: Query = { entity: w.entity, expr: best.expr, ...(w.asOf ? { asOf: w.asOf } : {}) };
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/ws`);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let nextId = 1;
  const ways: [string, string, () => Promise<number>][] = [
    ["HTTP", "Arrow IPC stream", () => httpKeys(url, q, "application/vnd.apache.arrow.stream")],
    ["HTTP", "NDJSON", () => httpKeys(url, q, "application/x-ndjson")],
    ...(hasCurl() ? [["HTTP (curl piped to wc -l)", "NDJSON", () => curlKeys(url, q)] as [string, string, () => Promise<number>]] : []),
    ["HTTP", "CSV", () => httpKeys(url, q, "text/csv")],
    ["HTTP", "JSON", () => httpKeys(url, q, "application/json")],
    ["WebSocket", "msgpack frames", () => wsFrameKeys(ws, q, nextId++)],
    ["WebSocket", "msgpack, LassoClient (keys as JS strings)", () => clientKeys(client, q)],
  ];
  const out: KeyRate[] = [];
  try {
    for (const [transport, format, run] of ways) {
      const ms: number[] = [];
      await run(); // warm-up
      for (let i = 0; i < opts.samples; i++) {
        const t0 = performance.now();
        const keys = await run();
        ms.push(performance.now() - t0);
        if (keys !== bestCount) throw new Error(`${transport} ${format}: ${keys} keys where ${bestCount} match ${best.id}`);
        opts.log?.(`keys/s: ${transport} ${format} ${i + 1}/${opts.samples}`);
      }
      const medianMs = median(ms);
      out.push({ transport, format, keys: bestCount, medianMs, keysPerSec: bestCount / (medianMs / 1000) });
    }
  } finally {
    ws.close();
    await client.close();
  }
  return out;
}
