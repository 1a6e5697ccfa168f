import type { DB } from './schema.js';
import type { WriteOp } from '../batch.js';
import { SieveStoreError, type SieveErrorCode, type SieveQuota } from '../sieve.js';

type Op<K extends WriteOp['op']> = Extract<WriteOp, { op: K }>;

/** What a script of `size` octets named `name` would break, given the user's scripts (RFC 5804 1.3). */
export function quotaProblem(scripts: { name: string; size: number }[], name: string, size: number, quota: SieveQuota): SieveErrorCode | null {
  if (size > quota.maxScriptSize) return 'QUOTA/MAXSIZE';
  if (!scripts.some((s) => s.name === name) && scripts.length >= quota.maxScripts) return 'QUOTA/MAXSCRIPTS';
  return null;
}

/** The Sieve operations of a write batch (store/sieve.ts), run by the writer inside its transaction. */
export class SieveOps {
  private readonly q;

  constructor(db: DB) {
    this.q = {
      user: db.prepare<[string], { id: number }>('SELECT id FROM users WHERE address = ?'),
      sizes: db.prepare<[number], { name: string; size: number }>('SELECT name, size FROM sieve_scripts WHERE user_id = ?'),
      upsert: db.prepare(`INSERT INTO sieve_scripts (user_id, name, script, size) VALUES (?, ?, ?, ?)
                            ON CONFLICT (user_id, name) DO UPDATE SET script = excluded.script, size = excluded.size`),
      exists: db.prepare<[number, string], { active: number }>('SELECT active FROM sieve_scripts WHERE user_id = ? AND name = ?'),
      clearActive: db.prepare('UPDATE sieve_scripts SET active = 0 WHERE user_id = ? AND active = 1'),
      setActive: db.prepare('UPDATE sieve_scripts SET active = 1 WHERE user_id = ? AND name = ?'),
      del: db.prepare('DELETE FROM sieve_scripts WHERE user_id = ? AND name = ?'),
      rename: db.prepare('UPDATE sieve_scripts SET name = ? WHERE user_id = ? AND name = ?'),
      remember: db.prepare(`INSERT INTO sieve_memory (user_id, key, expires) VALUES (?, ?, ?)
                              ON CONFLICT (user_id, key) DO UPDATE SET expires = max(expires, excluded.expires)`),
      expire: db.prepare('DELETE FROM sieve_memory WHERE user_id = ? AND expires <= ?'),
    };
  }

  private userId(address: string): number {
    const u = this.q.user.get(address.toLowerCase());
    if (!u) throw new SieveStoreError('NOUSER', `no such user ${address}`);
    return u.id;
  }

  private existing(userId: number, name: string): { active: number } {
    const row = this.q.exists.get(userId, name);
    if (!row) throw new SieveStoreError('NONEXISTENT', `there is no script named "${name}"`);
    return row;
  }

  put(o: Op<'sieve.put'>): void {
    const id = this.userId(o.user);
    const size = Buffer.byteLength(o.text, 'utf8');
    const problem = quotaProblem(this.q.sizes.all(id), o.name, size, o.quota);
    if (problem === 'QUOTA/MAXSIZE') throw new SieveStoreError(problem, `the script is ${size} octets, more than the ${o.quota.maxScriptSize} allowed`);
    if (problem) throw new SieveStoreError(problem, `at most ${o.quota.maxScripts} scripts per user`);
    this.q.upsert.run(id, o.name, o.text, size);
  }

  activate(o: Op<'sieve.activate'>): void {
    const id = this.userId(o.user);
    if (o.name !== null) this.existing(id, o.name);
    this.q.clearActive.run(id);
    if (o.name !== null) this.q.setActive.run(id, o.name);
  }

  delete(o: Op<'sieve.delete'>): void {
    const id = this.userId(o.user);
    if (this.existing(id, o.name).active) throw new SieveStoreError('ACTIVE', `"${o.name}" is the active script; deactivate it first`);
    this.q.del.run(id, o.name);
  }

  rename(o: Op<'sieve.rename'>): void {
    const id = this.userId(o.user);
    this.existing(id, o.from);
    if (o.from === o.to) return;
    if (this.q.exists.get(id, o.to)) throw new SieveStoreError('ALREADYEXISTS', `a script named "${o.to}" already exists`);
    this.q.rename.run(o.to, id, o.from);
  }

  remember(o: Op<'sieve.remember'>): void {
    const u = this.q.user.get(o.user.toLowerCase());
    if (!u) return;
    // Expired keys of this user go as new ones come: the table stays as small as the memory is long.
    this.q.expire.run(u.id, o.now);
    this.q.remember.run(u.id, o.key, o.expires);
  }
}
