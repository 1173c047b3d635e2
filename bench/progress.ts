/**
 * The live progress line: on a terminal, one status line redrawn in place (at most 10 times a second)
 * under the log lines; elsewhere (CI logs, pipes) only the log lines, so files stay readable.
 */
export interface Progress {
  /** A lasting line (phase starts, warnings, results). */
  log(line: string): void;
  /** Replaces the status line. */
  update(text: string): void;
  /** Removes the status line. */
  clear(): void;
}

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr, opts: { quiet?: boolean } = {}): Progress {
  const tty = stream.isTTY === true && !opts.quiet;
  let shown = "";
  let last = 0;
  const width = () => Math.max(20, (stream.columns ?? 100) - 1);
  const erase = () => {
    if (shown) stream.write("\r\x1b[2K");
  };
  return {
    log(line) {
      if (opts.quiet) return;
      erase();
      stream.write(line + "\n");
      if (shown) stream.write(shown);
    },
    update(text) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      erase();
      shown = text.length > width() ? text.slice(0, width() - 1) + "…" : text;
      stream.write(shown);
    },
    clear() {
      erase();
      shown = "";
    },
  };
}

export const silentProgress: Progress = { log() {}, update() {}, clear() {} };

/** Collects log lines (tests). */
export function memoryProgress(): Progress & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (l) => lines.push(l), update() {}, clear() {} };
}
