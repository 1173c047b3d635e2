import { EXIT_OK, type Command } from "./command.js";
import { SOURCE_FLAGS, openOffline, reportError } from "./offline.js";

export const command: Command = {
  name: "explain",
  summary: "show how a segment expression is planned and which kernels run",
  usage: `Usage: lasso explain [options] EXPR

Prints the normalised plan (with selectivity estimates), the kernels each leaf runs and whether the
query runs on the calling thread or is split across workers.

${SOURCE_FLAGS}
`,
  async run(argv) {
    let o;
    try {
      o = await openOffline(argv);
      process.stdout.write(await o.engine.explain({ entity: o.entity, expr: o.expr, asOf: o.asOf }));
      return EXIT_OK;
    } catch (e) {
      return reportError(e);
    } finally {
      await o?.engine.close();
    }
  },
};
