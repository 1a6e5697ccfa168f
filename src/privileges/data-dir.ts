import { chmodSync, lchownSync, lstatSync, mkdirSync, readdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * data_dir holds every password hash, the SCRAM secrets and all mail (issue 9 item 4): it is
 * 0700 and everything in it 0600 (directories 0700), owned by the user the server runs as.
 * The one exception is the maildrop, which every local user must be able to write to
 * (smtp/maildrop.ts): when it lies inside data_dir, data_dir is 0711 so that others can
 * reach it by name but list and read nothing. Servers that ran as root left root-owned
 * 0644 files behind; this upgrades them at each start.
 */

export interface DirOwner {
  uid: number;
  gid: number;
}

export interface SecureOptions {
  /** Changes owners too (only root can). */
  owner: DirOwner | null;
  /** The maildrop directory: its mode and group are the pickup's business, its files the senders'. */
  maildrop: string;
  /** Files left alone (the tests keep the config file in data_dir, readable by the users they play). */
  keep: string[];
}

function inside(dir: string, path: string): boolean {
  const r = relative(dir, path);
  return r === '' || (!r.startsWith('..') && !r.startsWith(sep) && r !== '..');
}

/** The mode data_dir itself gets. */
export function dataDirMode(dataDir: string, maildrop: string): number {
  return inside(resolve(dataDir), resolve(maildrop)) ? 0o711 : 0o700;
}

/** Returns what it could not fix (files of another user when not root), for the log. */
export function secureDataDir(dataDir: string, opts: SecureOptions): string[] {
  const problems: string[] = [];
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const maildrop = resolve(opts.maildrop);
  const keep = new Set(opts.keep.map((k) => resolve(k)));
  const blobs = join(dir, 'blobs');
  // The blob tree can hold millions of files: walked only when it is not ours yet (an upgrade).
  const blobsDone = (st: Stats) => (!opts.owner || st.uid === opts.owner.uid) && (st.mode & 0o777) === 0o700;
  const fix = (path: string, st: Stats, mode: number) => {
    try {
      if (opts.owner && (st.uid !== opts.owner.uid || st.gid !== opts.owner.gid)) lchownSync(path, opts.owner.uid, opts.owner.gid);
      if ((st.mode & 0o7777) !== mode) chmodSync(path, mode);
    } catch (e) {
      problems.push(`${path}: ${(e as Error).message} (wanted mode ${mode.toString(8)})`);
    }
  };
  const walk = (path: string, top: boolean) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink() || keep.has(path)) return;
    if (path === maildrop) {
      if (opts.owner) lchownSync(path, opts.owner.uid, opts.owner.gid);
      return;
    }
    if (st.isSocket()) {
      // An LMTP socket: its mode says who may connect, which is the admin's choice.
      fix(path, st, st.mode & 0o7777);
      return;
    }
    if (!st.isDirectory()) {
      fix(path, st, st.mode & 0o700);
      return;
    }
    if (path === blobs && blobsDone(st)) return;
    fix(path, st, top ? dataDirMode(dir, maildrop) : 0o700);
    for (const name of readdirSync(path)) walk(join(path, name), false);
  };
  walk(dir, true);
  return problems;
}

/**
 * Why the server's user could not reach `path` once root is dropped (a directory above it it
 * may not search), or null. Checked as root before anything is opened, so that the mistake is
 * one clear line and not an EACCES from deep inside the start.
 */
export function unreachable(path: string, who: DirOwner & { name: string }): string | null {
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    let st: Stats | null = null;
    try {
      st = statSync(dir);
    } catch {
      // Not there yet: made by root below, as 0700 of the user or by mkdir's defaults.
    }
    if (st) {
      const bit = st.uid === who.uid ? 0o100 : st.gid === who.gid ? 0o010 : 0o001;
      if (!(st.mode & bit)) {
        return `${path}: ${dir} (mode ${(st.mode & 0o7777).toString(8)}, uid ${st.uid}) does not let the server user ${who.name} through; chmod o+x ${dir} or choose another place`;
      }
    }
    if (dirname(dir) === dir) return null;
  }
}
