/**
 * Users' Sieve scripts (RFC 5228) as ManageSieve (RFC 5804) sees them, and the durable memory
 * of Sieve at delivery (vacation's :days/:seconds per sender, RFC 5230 4.2 and RFC 6131;
 * duplicate's tracking, RFC 7352). Users are named by address (compared lower-cased); a
 * user's scripts and memory go with the user.
 *
 * Changes to scripts are one-op batches (the writer checks the quotas inside its transaction,
 * so two uploads at once cannot both squeeze under a limit). The memory is written through
 * `sieve.remember` ops inside the delivery's own write batch: a crash before that commit
 * forgets both the delivery and the reply, so the retry sends exactly one (docs/DECISIONS.md).
 */

export interface SieveScriptInfo {
  name: string;
  active: boolean;
  /** Octets of the script (UTF-8). */
  size: number;
}

/** The script that runs at delivery, with its text. */
export interface ActiveScript {
  name: string;
  text: string;
}

/** Per-user limits of script storage ([sieve] max_script_size, max_scripts). */
export interface SieveQuota {
  maxScriptSize: number;
  maxScripts: number;
}

/**
 * A refused script change, with RFC 5804's response code: NONEXISTENT (no such script),
 * ALREADYEXISTS (RENAMESCRIPT onto an existing name), ACTIVE (DELETESCRIPT of the active
 * script), QUOTA/MAXSCRIPTS and QUOTA/MAXSIZE (RFC 5804 1.3), NOUSER (no such account).
 */
export type SieveErrorCode = 'NONEXISTENT' | 'ALREADYEXISTS' | 'ACTIVE' | 'QUOTA/MAXSCRIPTS' | 'QUOTA/MAXSIZE' | 'NOUSER';

export class SieveStoreError extends Error {
  override readonly name = 'SieveStoreError';
  constructor(readonly code: SieveErrorCode, message: string) {
    super(message);
  }
}

export interface SieveStore {
  list(user: string): Promise<SieveScriptInfo[]>;
  /** The script's text, null when there is none of that name. */
  get(user: string, name: string): Promise<string | null>;
  /** The active script, null when none is active (or no such user). */
  active(user: string): Promise<ActiveScript | null>;
  /**
   * RFC 5804 2.10 HAVESPACE: null when a script of `size` octets named `name` would fit (a
   * replaced script's own size does not count), else the code of the limit it breaks.
   */
  haveSpace(user: string, name: string, size: number, quota: SieveQuota): Promise<SieveErrorCode | null>;
  /** Creates or replaces a script (its active mark stays). Throws SieveStoreError (quota, NOUSER). */
  put(user: string, name: string, text: string, quota: SieveQuota): Promise<void>;
  /** Makes `name` the one active script; null deactivates. Throws NONEXISTENT. */
  setActive(user: string, name: string | null): Promise<void>;
  /** Throws NONEXISTENT, or ACTIVE for the active script (RFC 5804 2.10). */
  delete(user: string, name: string): Promise<void>;
  /** Throws NONEXISTENT or ALREADYEXISTS; the active mark moves with the script. */
  rename(user: string, from: string, to: string): Promise<void>;
  /** Whether `key` is remembered for the user and not expired at `now` (ms). */
  remembered(user: string, key: string, now: number): Promise<boolean>;
}
