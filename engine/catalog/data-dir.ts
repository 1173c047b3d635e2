/** Where offline commands find the data directory: `--data DIR`, else `LASSO_DATA`, else `./data`. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== "") return flag;
  const fromEnv = env["LASSO_DATA"];
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : "./data";
}
