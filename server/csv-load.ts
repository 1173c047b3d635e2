/**
 * A CSV body as the Arrow IPC stream `engine.load` takes: the one way both `lasso load FILE.csv` and
 * `POST …/load` with `text/csv` build it. Column types come from the entity's catalogued tags and key
 * (engine/store/csv.ts `csvTypesOf`), then inference, with the caller's `types` winning.
 */
import type { Engine } from "../engine/api.js";
import { csvBatches, csvTypesOf, type CsvType } from "../engine/store/csv.js";
import { ipcStream } from "./arrow-ipc.js";

export interface CsvLoadOptions {
  key: string;
  types?: Record<string, CsvType>;
  listSeparator?: string;
}

export function csvLoadBody(engine: Engine, entity: string, body: AsyncIterable<Uint8Array>, opts: CsvLoadOptions): AsyncGenerator<Uint8Array> {
  return ipcStream(
    csvBatches(body, {
      key: opts.key,
      ...csvTypesOf(engine, entity),
      ...(opts.types ? { types: opts.types } : {}),
      ...(opts.listSeparator !== undefined ? { listSeparator: opts.listSeparator } : {}),
    }),
  );
}
