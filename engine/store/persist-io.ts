/**
 * File system steps of the data directory, each one durable on return: a file is written and fdatasync'ed
 * before anything refers to it; a rename is followed by an fsync of its directory. Failures become
 * `LassoError('io_error')` naming the file and the cause (disk full, permissions, …).
 */
import { closeSync, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { LassoError } from "../errors.js";
import type { EncodedFile } from "./persist-arrow.js";

const ZEROS = new Uint8Array(64);

/** Writes head, buffers (each padded to its offset) and trailer, then fdatasync. One write per buffer. */
export async function writeEncoded(path: string, enc: EncodedFile, buffers: readonly Uint8Array[]): Promise<void> {
  const fh = await open(path, "w");
  try {
    let pos = 0;
    const put = async (bytes: Uint8Array) => {
      let done = 0;
      // a single write(2) stops at ~2 GiB and may be short on some file systems: loop until it is all out
      while (done < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, pos);
        if (bytesWritten <= 0) throw Object.assign(new Error(`short write to ${path}`), { code: "EIO" });
        done += bytesWritten;
        pos += bytesWritten;
      }
    };
    await put(enc.head);
    for (let i = 0; i < buffers.length; i++) {
      if (pos < enc.offsets[i]!) await put(ZEROS.subarray(0, enc.offsets[i]! - pos));
      await put(buffers[i]!);
    }
    const end = enc.size - enc.trailer.length;
    if (pos < end) await put(ZEROS.subarray(0, end - pos));
    await put(enc.trailer);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** Writes small bytes (JSON) and fsyncs them. */
export async function writeSmall(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, "w");
  try {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, done);
      done += bytesWritten;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes a rename or a new entry in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function unlinkQuietly(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch {
    return false;
  }
}

/** A file opened for reading straight into shard memory. */
export class FileReader {
  private readonly fd: number;
  readonly stats: Stats;
  constructor(readonly path: string) {
    this.fd = openSync(path, "r");
    this.stats = fstatSync(this.fd);
  }
  /** Reads `length` bytes at `position` into `into` (a view of shard memory or a JS buffer). */
  readInto(into: Uint8Array, position: number): void {
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, position + done);
      if (n === 0) throw new LassoError("io_error", `${this.path} ends early (truncated?) at byte ${position + done}`);
      done += n;
    }
  }
  close(): void {
    closeSync(this.fd);
  }
}

const CAUSES: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exhausted",
  EIO: "an I/O error",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EMFILE: "too many open files",
  ENFILE: "too many open files",
  ENOENT: "a file or directory is missing",
};

export function errnoOf(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof (e as { code: unknown }).code === "string"
    ? (e as { code: string }).code
    : undefined;
}

/** The `io_error` for a failed step; LassoErrors pass through unchanged. */
export function ioError(e: unknown, what: string): LassoError {
  if (e instanceof LassoError) return e;
  const code = errnoOf(e);
  const cause = (code && CAUSES[code]) ?? (e instanceof Error ? e.message : String(e));
  return new LassoError("io_error", `${what}: ${cause}${code ? ` (${code})` : ""}`, code ? { errno: code } : {});
}

/**
 * Crash-test hook: `LASSO_CRASH_AT=<point>[:<n>]` kills the process with SIGKILL the n-th time (default 1st)
 * it reaches `point`, so tests can stop a load at each step of the commit protocol, not only at random.
 * Costs one environment lookup per step when unset.
 */
const crashCounts = new Map<string, number>();
export function crashPoint(point: string): void {
  const want = process.env["LASSO_CRASH_AT"];
  if (!want) return;
  const [name, nth] = want.split(":");
  if (name !== point) return;
  const n = (crashCounts.get(point) ?? 0) + 1;
  crashCounts.set(point, n);
  if (n >= Number(nth ?? 1)) process.kill(process.pid, "SIGKILL");
}
