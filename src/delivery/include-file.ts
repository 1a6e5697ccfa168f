import { closeSync, fstatSync, lstatSync, openSync, readFileSync, realpathSync, statSync, constants as fsc } from 'node:fs';
import { dirname } from 'node:path';
import { splitList } from './targets.js';

/**
 * An :include: file (S16) and what it may do (issue 9 item 2). Addresses in it are always
 * followed; files and programs it names run as its owner, as sendmail does, and only when
 * nobody else could have written it: the file not writable by group or others (then the
 * whole file is refused), not a symbolic link, and no directory on its path writable by
 * group or others (then its files and programs are refused, its addresses still count).
 * Owner and contents come from one open file, so a file swapped after the check is not read.
 */
export interface IncludeFile {
  items: string[];
  uid: number;
  gid: number;
  /** Why its files and programs must not run; null when they may. */
  unsafe: string | null;
}

/** The first directory on the path (from the file up) that group or others may write to. */
function writableAncestor(path: string): string | null {
  let dir = dirname(realpathSync(path));
  for (;;) {
    if (statSync(dir).mode & 0o022) return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** The file's list and owner; a string is why it cannot be used at all (for the log). */
export function readIncludeFile(path: string): IncludeFile | string {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (e) {
    return `:include:${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`;
  }
  let text: string;
  let st: ReturnType<typeof fstatSync>;
  try {
    st = fstatSync(fd);
    if (!st.isFile()) return `:include:${path} is not a plain file; refused`;
    if (st.mode & 0o022) return `:include:${path} is writable by group or others; refused`;
    text = readFileSync(fd, 'utf8');
  } catch (e) {
    return `:include:${path}: ${(e as Error).message}`;
  } finally {
    closeSync(fd);
  }
  const items: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(#|$)/.test(line)) continue;
    const list = splitList(line);
    if (typeof list === 'string') return `:include:${path}: ${list}`;
    items.push(...list);
  }
  let unsafe: string | null = null;
  try {
    if (lstatSync(path).isSymbolicLink()) unsafe = `:include:${path} is a symbolic link`;
    else {
      const dir = writableAncestor(path);
      if (dir) unsafe = `:include:${path} is in ${dir}, which group or others may write to`;
    }
  } catch (e) {
    unsafe = `:include:${path}: ${(e as Error).message}`;
  }
  return { items, uid: st.uid, gid: st.gid, unsafe };
}
