import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { parseTarget, splitList } from './targets.js';

/**
 * Users' forward lists (S16, sendmail's ~/.forward): one file per user in `forward_dir`, named
 * by the address, holding addresses (and "\user" to keep a copy, "|program" run under the
 * program sandbox). Mail users are not system users, so the lists live with Correo's data
 * and are set with `correo forward`. Resolution runs inside the delivery transaction, so the
 * directory is looked at (one stat) at most once a second and the lists are read only when it
 * changed: every write here replaces a file by rename, which changes the directory's mtime.
 */
export class ForwardLists {
  private lists = new Map<string, string[]>();
  private stamp = '';
  private checked = 0;

  constructor(private readonly dir: string, private readonly log: Logger | null) {}

  get(address: string): string[] | undefined {
    const now = Date.now();
    if (now - this.checked >= 1000) {
      this.checked = now;
      this.refresh();
    }
    return this.lists.get(address.toLowerCase());
  }

  private refresh(): void {
    let stamp = 'absent';
    try {
      const st = statSync(this.dir);
      stamp = `${st.mtimeMs}:${st.ino}`;
    } catch {
      stamp = 'absent';
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    const lists = new Map<string, string[]>();
    if (stamp !== 'absent') {
      for (const name of readdirSync(this.dir)) {
        if (!name.includes('@') || name.endsWith('.tmp')) continue;
        try {
          const parsed = parseForward(readFileSync(join(this.dir, name), 'utf8'));
          if (typeof parsed === 'string') this.log?.error(null, `forward list of ${name}: ${parsed}; ignored`);
          else lists.set(name.toLowerCase(), parsed);
        } catch (e) {
          this.log?.error(null, `forward list of ${name}: ${(e as Error).message}`);
        }
      }
    }
    this.lists = lists;
  }
}

/** Targets separated by commas or lines; '#' comments. A string is the first mistake. */
export function parseForward(text: string): string[] | string {
  const out: string[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (/^\s*(#|$)/.test(line)) continue;
    const items = splitList(line);
    if (typeof items === 'string') return `line ${i + 1}: ${items}`;
    for (const item of items) {
      const t = parseTarget(item);
      if (typeof t === 'string') return `line ${i + 1}: ${t}`;
      if (t.kind === 'file' || t.kind === 'include') return `line ${i + 1}: "${item}": files and :include: are for the aliases file`;
      out.push(item);
    }
  }
  return out;
}

/** `correo forward set`: replaces the list atomically (an empty list removes it). */
export function writeForward(dir: string, address: string, targets: string[]): void {
  const text = targets.join('\n') + '\n';
  const problem = parseForward(text);
  if (typeof problem === 'string') throw new Error(problem);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const file = join(dir, address.toLowerCase());
  if (!targets.length) {
    rmSync(file, { force: true });
    return;
  }
  writeFileSync(`${file}.tmp`, text, { mode: 0o640 });
  renameSync(`${file}.tmp`, file);
}

export function readForward(dir: string, address: string): string[] {
  try {
    const parsed = parseForward(readFileSync(join(dir, address.toLowerCase()), 'utf8'));
    return typeof parsed === 'string' ? [] : parsed;
  } catch {
    return [];
  }
}
