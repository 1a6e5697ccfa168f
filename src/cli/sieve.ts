import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Config } from '../config/types.js';
import { parseScript } from '../sieve/index.js';
import { SieveStoreError } from '../store/sieve.js';
import { openCliStore } from './store.js';
import { UsageError } from './args.js';
import { badName, quotaOf, utf8 } from '../managesieve/scripts.js';

const USE = 'use: correo sieve put USER FILE [NAME] | get USER NAME | list USER | activate USER NAME | deactivate USER | delete USER NAME | check USER FILE';

/** A script file as text; a mistake is FILE:LINE:COLUMN: message (the parser's positions). */
function readScript(cfg: Config, file: string): string {
  const bytes = file === '-' ? readFileSync(0) : readFileSync(file);
  const text = utf8(bytes);
  if (text === null) throw new Error(`${file}: not UTF-8 (RFC 5228 2.2)`);
  const r = parseScript(text, { maxSize: cfg.sieve.max_script_size });
  if (r.errors) throw new Error(r.errors.map((e) => `${file}:${e.line}:${e.column}: ${e.message}`).join('\n'));
  return text;
}

/** The name a file is stored under: NAME, or the file's name without ".sieve". */
function nameFor(file: string, name: string | undefined): string {
  const n = name ?? basename(file).replace(/\.sieve$/, '');
  const bad = badName(n);
  if (bad || file === '-' && !name) throw new UsageError(bad ?? 'a script read from standard input needs a NAME');
  return n;
}

/**
 * `correo sieve ...`: what ManageSieve does, for admins (the same store, the same syntax check
 * and quota). A running server sees a change at the next delivery.
 */
export async function sieveCommand(cfg: Config, args: string[]): Promise<number> {
  const [sub, who, arg, extra] = args;
  if (!sub || !who) throw new UsageError(USE);
  const user = who.toLowerCase();
  if (sub === 'check') {
    if (!arg) throw new UsageError(USE);
    readScript(cfg, arg);
    console.log(`${arg}: OK`);
    return 0;
  }
  const stores = await openCliStore(cfg);
  try {
    if (!(await stores.mailboxes.getUser(user))) throw new Error(`no user ${user}`);
    const s = stores.sieve;
    switch (sub) {
      case 'put': {
        if (!arg) throw new UsageError(USE);
        const name = nameFor(arg, extra);
        await s.put(user, name, readScript(cfg, arg), quotaOf(cfg.sieve));
        console.log(`stored "${name}" for ${user}`);
        return 0;
      }
      case 'get': {
        const text = arg === undefined ? null : await s.get(user, arg);
        if (text === null) throw new Error(`${user} has no script named "${arg ?? ''}"`);
        process.stdout.write(text);
        return 0;
      }
      case 'list':
        for (const x of await s.list(user)) console.log(`${x.name}${x.active ? ' (active)' : ''}`);
        return 0;
      case 'activate':
        if (!arg) throw new UsageError(USE);
        await s.setActive(user, arg);
        console.log(`"${arg}" is the active script of ${user}`);
        return 0;
      case 'deactivate':
        await s.setActive(user, null);
        console.log(`${user} has no active script`);
        return 0;
      case 'delete':
        if (!arg) throw new UsageError(USE);
        await s.delete(user, arg);
        console.log(`deleted "${arg}" of ${user}`);
        return 0;
      default:
        throw new UsageError(USE);
    }
  } catch (e) {
    if (e instanceof SieveStoreError) throw new Error(`${e.message} (${e.code})`);
    throw e;
  } finally {
    await stores.close();
  }
}
