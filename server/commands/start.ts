/**
 * `lasso start` (what `npm start` runs): `lasso serve`, except that an empty or missing data directory
 * is first filled with the generated demo data set, and the log says so.
 */
import { readdir } from "node:fs/promises";
import type { Engine } from "../../engine/api.js";
import { ipcStream } from "../arrow-ipc.js";
import type { Logger } from "../log.js";
import type { Command } from "./command.js";
import { SERVE_FLAGS, runServer, withServeArgs, type RunHooks, type ServeSettings } from "./serve.js";

/** The demo data set: fixtures/generate.ts at this size and seed, loaded as entity `user`. */
export const DEMO = { rows: 100_000, seed: 42, entity: "user", key: "user_id" } as const;

const USAGE = `Usage: lasso start [options]

Like \`lasso serve\`, but when the data directory is empty or missing it is first filled with the
generated demo data set (${DEMO.rows.toLocaleString("en-US")} ${DEMO.entity}s, seed ${DEMO.seed}). This is what \`npm start\` runs.

${SERVE_FLAGS}
`;

export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw e;
  }
}

/** Loads the demo data set into an engine (all-or-nothing, as every load). */
export async function loadDemo(engine: Engine, log: Logger, dataDir: string): Promise<void> {
  log("info", `data directory ${dataDir} is empty: loading the demo data set (${DEMO.rows} ${DEMO.entity}s, seed ${DEMO.seed})`, {
    dataDir,
    rows: DEMO.rows,
    seed: DEMO.seed,
  });
  const { generateBatches } = await import("../../fixtures/generate.js");
  const r = await engine.load({
    entity: DEMO.entity,
    key: DEMO.key,
    body: ipcStream(generateBatches({ rows: DEMO.rows, seed: DEMO.seed })),
  });
  log("info", "demo data set loaded", { entity: r.entity, rows: r.rows, tags: r.newTags.length, tookMs: r.tookMs });
}

export async function runStart(settings: ServeSettings, hooks: Omit<RunHooks, "prepare"> = {}): Promise<number> {
  // Judged before the engine opens: opening may create the engine's own files in the directory.
  const wasEmpty = await isEmptyDir(settings.dataDir);
  return runServer(settings, {
    ...hooks,
    // Also when the directory holds an engine's files but no entity (e.g. an earlier demo load was
    // interrupted: loads are all-or-nothing, so that leaves an empty store).
    prepare: async (engine, log) => {
      if (!wasEmpty && engine.entities().length > 0) return;
      try {
        await loadDemo(engine, log, settings.dataDir);
      } catch (e) {
        log("error", "loading the demo data set failed; the store is left as it was", { dataDir: settings.dataDir, error: e });
        throw e;
      }
    },
  });
}

export const command: Command = {
  name: "start",
  summary: "serve the data directory, first adding the demo data set when it is empty",
  usage: USAGE,
  run: (argv) => withServeArgs("start", USAGE, argv, runStart),
};
