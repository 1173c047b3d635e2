/**
 * File system steps of the data directory, each one durable on return: a file is written and fdatasync'ed
 * before anything refers to it; a rename is followed by an fsync of its directory. Failures become
 * `LassoError('io_error')` naming the file and the cause (disk full, permissions, …).
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { open, unlink, type FileHandle } from "node:fs/promises";
import { LassoError } from "../errors.js";
import type { EncodedFile } from "./persist-arrow.js";

/** Zeros for padding: gaps in Lasso's files are under 64 bytes, but any gap is written a few writes at most. */
const ZEROS = new Uint8Array(64 << 10);

/** How a file reached the disk: straight from staging memory (O_DIRECT) or through the page cache. */
export type WriteMode = "direct" | "buffered";

/**
 * Writes head, buffers (each padded to its offset) and trailer, then fdatasync.
 *
 * Direct I/O first: on this class of machine (a VM, 2 cores) a buffered write spends ~2.5 ns of kernel CPU
 * per byte copying into freshly allocated page-cache pages — 9 s of CPU for a 3.5 GB store, competing with
 * the load for the cores — while O_DIRECT costs ~0.1 s of CPU for the same bytes and is faster on the wall
 * clock as well (measured: test/store/measure.mjs reports both). A file system that refuses O_DIRECT
 * (EINVAL: some FUSE and network file systems, character devices) gets the buffered write instead.
 */
export async function writeEncoded(path: string, enc: EncodedFile, buffers: readonly Uint8Array[], mode: WriteMode = "direct"): Promise<WriteMode> {
  if (mode === "direct" && (await writeDirect(path, enc, buffers))) return "direct";
  await writeBuffered(path, enc, buffers);
  return "buffered";
}

async function writeBuffered(path: string, enc: EncodedFile, buffers: readonly Uint8Array[]): Promise<void> {
  const fh = await open(path, "w");
  try {
    let pos = 0;
    const put = async (bytes: Uint8Array) => {
      await writeAt(fh, path, bytes, pos);
      pos += bytes.length;
    };
    const padTo = async (offset: number) => {
      while (pos < offset) await put(ZEROS.subarray(0, Math.min(ZEROS.length, offset - pos)));
    };
    await layOut(enc, buffers, put, padTo);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** A file's parts in order: head, each buffer at its offset, trailer at the end; `padTo` fills the gaps. */
async function layOut(enc: EncodedFile, buffers: readonly Uint8Array[], put: (bytes: Uint8Array) => Promise<void>, padTo: (offset: number) => Promise<void>): Promise<void> {
  await put(enc.head);
  for (let i = 0; i < buffers.length; i++) {
    // alignment padding, under 64 bytes in the files Lasso encodes; any gap comes out whole
    await padTo(enc.offsets[i]!);
    await put(buffers[i]!);
  }
  await padTo(enc.size - enc.trailer.length);
  await put(enc.trailer);
}

/** All of `bytes` at `position`: one write(2) stops at ~2 GiB and may be short on some file systems. */
export async function writeAt(fh: FileHandle, path: string, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error(`short write to ${path}`), { code: "EIO" });
    done += bytesWritten;
  }
}

/**
 * O_DIRECT needs the memory address, file offset and length of every write aligned to the device's logical
 * block (512 or 4096 bytes): the file is assembled in an aligned staging slot and written a slot at a time.
 */
const DIRECT_ALIGN = 4096;
/** Bytes per direct write: large enough that the device, not the request rate, sets the speed. */
const SLOT_BYTES = 8 << 20;

/**
 * Staging slots, one per file being written at once, kept for the process's life. Each is a Wasm memory
 * because only its base is guaranteed page-aligned (a Buffer's address is malloc's choice).
 */
const freeSlots: Uint8Array[] = [];

function takeSlot(): Uint8Array {
  return freeSlots.pop() ?? new Uint8Array(new WebAssembly.Memory({ initial: SLOT_BYTES / 65536, maximum: SLOT_BYTES / 65536 }).buffer);
}

/** The file through O_DIRECT; false (nothing left to clean: the caller rewrites the file) when refused. */
async function writeDirect(path: string, enc: EncodedFile, buffers: readonly Uint8Array[]): Promise<boolean> {
  // the slot first: nothing to close if it cannot be had
  const slot = takeSlot();
  let fh: FileHandle;
  try {
    // 0o666 less the umask, as the buffered open("w") creates files
    fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DIRECT, 0o666);
  } catch (e) {
    freeSlots.push(slot);
    if (errnoOf(e) === "EINVAL") return false;
    throw e;
  }
  try {
    let filePos = 0; // file offset of slot[0]
    let fill = 0; // bytes staged in the slot
    const flush = async () => {
      // the last write of a file is rounded up to the alignment with zeros, then cut back by truncate
      const n = Math.ceil(fill / DIRECT_ALIGN) * DIRECT_ALIGN;
      slot.fill(0, fill, n);
      await writeAt(fh, path, slot.subarray(0, n), filePos);
      filePos += fill;
      fill = 0;
    };
    const put = async (bytes: Uint8Array) => {
      for (let at = 0; at < bytes.length; ) {
        const n = Math.min(bytes.length - at, SLOT_BYTES - fill);
        slot.set(n === bytes.length ? bytes : bytes.subarray(at, at + n), fill);
        fill += n;
        at += n;
        if (fill === SLOT_BYTES) await flush();
      }
    };
    const padTo = async (offset: number) => {
      while (filePos + fill < offset) {
        const n = Math.min(offset - filePos - fill, SLOT_BYTES - fill);
        slot.fill(0, fill, fill + n);
        fill += n;
        if (fill === SLOT_BYTES) await flush();
      }
    };
    await layOut(enc, buffers, put, padTo);
    if (fill > 0) await flush();
    if (enc.size % DIRECT_ALIGN !== 0) await fh.truncate(enc.size);
    await fh.datasync();
    return true;
  } catch (e) {
    // alignment this file system will not take (EINVAL mid-file): the buffered write replaces the file
    if (errnoOf(e) === "EINVAL") return false;
    throw e;
  } finally {
    freeSlots.push(slot);
    await fh.close();
  }
}

/** Writes small bytes (JSON) and fsyncs them. */
export async function writeSmall(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, "w");
  try {
    await writeAt(fh, path, bytes, 0);
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
