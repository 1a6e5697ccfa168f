import type pg from 'pg';
import type { PgCommitter } from './committer.js';
import { quotaProblem } from '../sqlite/ops-sieve.js';
import type { ActiveScript, SieveErrorCode, SieveQuota, SieveScriptInfo, SieveStore } from '../sieve.js';

/** Sieve scripts and memory on PostgreSQL (tables sieve_scripts, sieve_memory). */
export class PgSieve implements SieveStore {
  constructor(private readonly pool: pg.Pool, private readonly w: PgCommitter) {}

  async list(user: string): Promise<SieveScriptInfo[]> {
    return (await this.pool.query<{ name: string; active: boolean; size: number }>(
      'SELECT s.name, s.active, s.size FROM sieve_scripts s JOIN users u ON u.id = s.user_id WHERE u.address = $1 ORDER BY s.name COLLATE "C"',
      [user.toLowerCase()])).rows.map((r) => ({ name: r.name, active: r.active, size: r.size }));
  }

  async get(user: string, name: string): Promise<string | null> {
    return (await this.pool.query<{ script: string }>(
      'SELECT s.script FROM sieve_scripts s JOIN users u ON u.id = s.user_id WHERE u.address = $1 AND s.name = $2', [user.toLowerCase(), name])).rows[0]?.script ?? null;
  }

  async active(user: string): Promise<ActiveScript | null> {
    const r = (await this.pool.query<{ name: string; script: string }>(
      'SELECT s.name, s.script FROM sieve_scripts s JOIN users u ON u.id = s.user_id WHERE u.address = $1 AND s.active', [user.toLowerCase()])).rows[0];
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
    return ((await this.pool.query(
      'SELECT 1 FROM sieve_memory m JOIN users u ON u.id = m.user_id WHERE u.address = $1 AND m.key = $2 AND m.expires > $3',
      [user.toLowerCase(), key, now])).rowCount ?? 0) > 0;
  }
}
