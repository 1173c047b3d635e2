export const DEFAULT_DATA_DIR = "./data";

/** An environment variable, with an empty value taken as unset (as shells and compose files leave them). */
export function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}

/** Where commands find the data directory: `--data DIR`, else `LASSO_DATA`, else `./data`. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== "") return flag;
  return envValue(env, "LASSO_DATA") ?? DEFAULT_DATA_DIR;
}
