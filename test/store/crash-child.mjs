// The process the crash tests kill: opens the engine (compiled, dist/) on a data directory and applies
// the ops.mjs sequence from where the directory stands, forever. Version v of the store is the result of
// ops 0..v-1, so the parent can rebuild any version in memory.
//
//   node test/store/crash-child.mjs DIR SEED BATCH_ROWS KEY_SPACE
//
// stdout: `ready <version>` once open, then `published <version>` after each change is acknowledged
// (the engine's promise resolved: what a client's "done" reply would say). Log lines go to stderr.
import { openEngine } from "../../dist/engine/index.js";
import { apply, opAt } from "./ops.mjs";

const [dir, seedText, batchText, keysText] = process.argv.slice(2);
const seed = Number(seedText);
const sizes = { batchRows: Number(batchText), keySpace: Number(keysText) };
const engine = await openEngine({
  dataDir: dir,
  threads: 0,
  shardRows: 65_536,
  log: (level, msg, fields) => process.stderr.write(`${JSON.stringify({ level, msg, ...fields })}\n`),
});
let version = engine.entities().find((e) => e.name === "user")?.version ?? 0;
process.stdout.write(`ready ${version}\n`);
for (;;) {
  version = await apply(engine, opAt(seed, version, sizes));
  process.stdout.write(`published ${version}\n`);
}
