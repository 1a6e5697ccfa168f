/** A configuration or map-file mistake, printed as `FILE:LINE: what is wrong`. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly line: number, readonly problem: string) {
    super(`${file}:${line}: ${problem}`);
  }
}
