import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Lives in test/ so the top level stays as the design card lists it; the root is the repository.
export default defineConfig({
  root: fileURLToPath(new URL("..", import.meta.url)),
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
