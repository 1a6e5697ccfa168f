/**
 * Waiting for a condition instead of sleeping (issue 12): a fixed sleep is either too short on
 * a busy machine (a flake) or too long everywhere (a slow suite). `waitFor` polls the
 * condition until it gives a value, with a deadline; when the deadline passes it fails with
 * what the test was waiting for and what it saw last, so a failure explains itself.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface WaitOptions {
  /** Deadline in ms (default 20 s). */
  timeout?: number;
  /** What is awaited and what was seen, for the failure message (called once, on timeout). */
  describe: string | (() => string);
  /** Poll interval in ms (default 25). */
  interval?: number;
}

/**
 * Resolves with the first truthy value `cond` returns (it may be async); rejects after the
 * deadline with `describe`. An exception from `cond` ends the wait at once.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, opts: WaitOptions): Promise<NonNullable<T>> {
  const timeout = opts.timeout ?? 20_000;
  const interval = opts.interval ?? 25;
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() >= deadline) {
      const what = typeof opts.describe === 'function' ? opts.describe() : opts.describe;
      throw new Error(`waited ${timeout} ms in vain for ${what}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(1, deadline - Date.now()))));
  }
}

/** A file's text, '' while it does not exist. */
export function readIfExists(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** Waits until the file at `path` matches `re`; its text. The failure quotes what it held. */
export function waitForFile(path: string, re: RegExp, timeout = 20_000): Promise<string> {
  return waitFor(() => {
    const text = readIfExists(path);
    return re.test(text) ? text : '';
  }, { timeout, describe: () => `${path} to match ${re}; it holds ${JSON.stringify(readIfExists(path).slice(-400))}` });
}

/** Waits until `log()` matches `re`; the match. The failure quotes the log's last lines. */
export function waitForLog(log: () => string, re: RegExp, timeout = 20_000): Promise<RegExpMatchArray> {
  return waitFor(() => log().match(re), {
    timeout,
    describe: () => `${re} in the log; its last lines:\n${log().split('\n').slice(-30).join('\n')}`,
  });
}
