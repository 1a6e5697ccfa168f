import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../log/logger.js';

/**
 * A map file the server keeps using while the admin edits it (no makemap, no restart):
 * re-read when its modification time or size changes, checked at most once a second on use.
 * A version with a mistake is logged (FILE:LINE from the parser) and the last good version
 * keeps serving; a file that disappears means an empty map, as if it had never been written.
 */
export class WatchedFile<T> {
  private value: T;
  private stamp = '';
  private checked = 0;
  /** The mistake in the file as it is on disk now, if any (for `correo policy check` and tests). */
  error: string | null = null;

  constructor(
    /** What the map is called in log lines ("access", "virtusertable", ...). */
    readonly name: string,
    readonly file: string | null,
    private readonly parse: (text: string, file: string) => T,
    private readonly empty: () => T,
    private readonly log: Logger | null,
    /** Milliseconds between two looks at the file. */
    private readonly interval = 1000,
  ) {
    this.value = empty();
    this.reload();
  }

  /** The current map, re-read first when the file changed. */
  get(): T {
    if (this.file && Date.now() - this.checked >= this.interval) this.reload();
    return this.value;
  }

  /** Looks at the file now; returns the error text when the version on disk is bad. */
  reload(): string | null {
    if (!this.file) return null;
    this.checked = Date.now();
    let stamp = 'absent';
    try {
      const st = statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      stamp = 'absent';
    }
    if (stamp === this.stamp) return this.error;
    this.stamp = stamp;
    if (stamp === 'absent') {
      this.value = this.empty();
      this.error = null;
      return null;
    }
    try {
      this.value = this.parse(readFileSync(this.file, 'utf8'), this.file);
      this.error = null;
      this.log?.info(null, `${this.name}: loaded ${this.file}`);
    } catch (e) {
      this.error = (e as Error).message;
      this.log?.error(null, `${this.name}: ${this.error} (keeping the previous version)`);
    }
    return this.error;
  }
}
