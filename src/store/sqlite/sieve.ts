import type { DB } from './schema.js';
import type { Committer } from './committer.js';
import { quotaProblem } from './ops-sieve.js';
import type { ActiveScript, SieveErrorCode, SieveQuota, SieveScriptInfo, SieveStore } from '../sieve.js';

/** Sieve scripts and memory on SQLite (tables sieve_scripts, sieve_memory; schema v5). */
export class SqliteSieve implements SieveStore {
  private readonly q;

  constructor(db: DB, private readonly w: Committer) {
    this.q = {
      list: db.prepare<[string], { name: string; active: number; size: number }>(
        'SELECT s.name, s.active, s.size FROM sieve_scripts s JOIN users u ON u.id = s.user_id WHERE u.address = ? ORDER BY s.name'),
      get: db.prepare<[string, string], { script: string }>(
        'SELECT s.script FROM sieve_scripts s JOIN users u ON u.id = s.user_id WHERE u.address = ? AND s.name = ?'),
      active: db.prepare<[string], { name: string; script: string }>(
        'SELECT s.name, s.script FROM sieve_scripts s JOIN users u ON u.id = s.user_id WHERE u.address = ? AND s.active = 1'),
      memory: db.prepare<[string, string, number], { one: number }>(
        'SELECT 1 AS one FROM sieve_memory m JOIN users u ON u.id = m.user_id WHERE u.address = ? AND m.key = ? AND m.expires > ?'),
    };
  }

  async list(user: string): Promise<SieveScriptInfo[]> {
    return this.q.list.all(user.toLowerCase()).map((r) => ({ name: r.name, active: r.active === 1, size: r.size }));
  }

  async get(user: string, name: string): Promise<string | null> {
    return this.q.get.get(user.toLowerCase(), name)?.script ?? null;
  }

  async active(user: string): Promise<ActiveScript | null> {
    const r = this.q.active.get(user.toLowerCase());
    return r ? { name: r.name, text: r.script } : null;
  }

  async haveSpace(user: string, name: string, size: number, quota: SieveQuota): Promise<SieveErrorCode | null> {
    return quotaProblem(await this.list(user), name, size, quota);
  }

  put(user: string, name: string, text: string, quota: SieveQuota): Promise<void> {
    return this.w.one({ op: 'sieve.put', user, name, text, quota });
  }

  setActive(user: string, name: string | null): Promise<void> {
    return this.w.one({ op: 'sieve.activate', user, name });
  }

  delete(user: string, name: string): Promise<void> {
    return this.w.one({ op: 'sieve.delete', user, name });
  }

  rename(user: string, from: string, to: string): Promise<void> {
    return this.w.one({ op: 'sieve.rename', user, from, to });
  }

  async remembered(user: string, key: string, now: number): Promise<boolean> {
    return this.q.memory.get(user.toLowerCase(), key, now) !== undefined;
  }
}
