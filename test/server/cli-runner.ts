/** Runs the `lasso` CLI in a child process under vite-node (tests spawn this; argv after `--`). */
import { main } from "../../server/cli.js";

// vite-node's module server exits the process on SIGTERM; the real `lasso` bin has no such listener,
// and the test is about the CLI's own graceful shutdown.
process.removeAllListeners("SIGTERM");

process.exitCode = await main(process.argv.slice(2));
