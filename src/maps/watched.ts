import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../log/logger.js';

/**
 * A map file the server keeps using while the admin edits it (no makemap, no restart):
 * re-read when its modification time or size changes, checked at most once a second on use.
 * A version with a mistake, or a file that disappears or cannot be read any more, is logged
 * (FILE:LINE from the parser) and the last good version keeps serving (fail closed, issue 9
 * item 10). At start-up the server refuses to run without every configured file
 * (src/maps/check.ts); a file that has never existed is an empty map here, so that parts can
 * be built before the admin writes it.
 */
export class WatchedFile<T> {
  private value: T;
  private stamp = '';
  private checked = 0;
  /** A version of the file has been read (otherwise the value is the empty map). */
  private loaded = false;
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
    const first = this.stamp === '';
    this.stamp = stamp;
    if (stamp === 'absent' && first) return null;
    try {
      if (stamp === 'absent') throw new Error(`${this.file}: no such file`);
      this.value = this.parse(readFileSync(this.file, 'utf8'), this.file);
      this.loaded = true;
      this.error = null;
      this.log?.info(null, `${this.name}: loaded ${this.file}`);
    } catch (e) {
      this.error = (e as Error).message;
      this.log?.error(null, `${this.name}: ${this.error} (keeping the ${this.loaded ? 'previous version' : 'empty map'})`);
    }
    return this.error;
  }
}
