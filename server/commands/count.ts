import { EXIT_OK, type Command } from "./command.js";
import { SOURCE_FLAGS, openOffline, reportError } from "./offline.js";

export const command: Command = {
  name: "count",
  summary: "count the entities matching a segment expression (offline)",
  usage: `Usage: lasso count [options] EXPR

Prints the exact number of entities matching EXPR, the entity total and the time taken, as JSON.

${SOURCE_FLAGS}

Examples:
  lasso count --data ./data "城市 IN ('上海', '北京') AND age BETWEEN 25 AND 35"
  lasso count --file fixtures/sample.arrow --key user_id 'interests HAS ANY ("sports", "music")'
`,
  async run(argv) {
    let o;
    try {
      o = await openOffline(argv);
      const r = await o.engine.count({ entity: o.entity, expr: o.expr, asOf: o.asOf });
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return EXIT_OK;
    } catch (e) {
      return reportError(e);
    } finally {
      await o?.engine.close();
    }
  },
};
