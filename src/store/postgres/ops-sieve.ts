import type pg from 'pg';
import type { WriteOp } from '../batch.js';
import { quotaProblem } from '../sqlite/ops-sieve.js';
import { SieveStoreError } from '../sieve.js';

type Op<K extends WriteOp['op']> = Extract<WriteOp, { op: K }>;

/**
 * The Sieve operations of a write batch on PostgreSQL (the semantics of sqlite/ops-sieve.ts).
 * Each first locks the user's row: two nodes changing one user's scripts at once take turns,
 * so the quota check and the one-active rule hold across nodes.
 */
export class PgSieveOps {
  constructor(private readonly c: pg.ClientBase) {}

  private async userId(address: string, lock = true): Promise<number | null> {
    const r = await this.c.query<{ id: number }>(`SELECT id FROM users WHERE address = $1${lock ? ' FOR UPDATE' : ''}`, [address.toLowerCase()]);
    return r.rows[0]?.id ?? null;
  }

  private async user(address: string): Promise<number> {
    const id = await this.userId(address);
    if (id === null) throw new SieveStoreError('NOUSER', `no such user ${address}`);
    return id;
  }

  private async existing(userId: number, name: string): Promise<{ active: boolean }> {
    const r = (await this.c.query<{ active: boolean }>('SELECT active FROM sieve_scripts WHERE user_id = $1 AND name = $2', [userId, name])).rows[0];
    if (!r) throw new SieveStoreError('NONEXISTENT', `there is no script named "${name}"`);
    return r;
  }

  async put(o: Op<'sieve.put'>): Promise<void> {
    const id = await this.user(o.user);
    const size = Buffer.byteLength(o.text, 'utf8');
    const sizes = (await this.c.query<{ name: string; size: number }>('SELECT name, size FROM sieve_scripts WHERE user_id = $1', [id])).rows;
    const problem = quotaProblem(sizes, o.name, size, o.quota);
    if (problem === 'QUOTA/MAXSIZE') throw new SieveStoreError(problem, `the script is ${size} octets, more than the ${o.quota.maxScriptSize} allowed`);
    if (problem) throw new SieveStoreError(problem, `at most ${o.quota.maxScripts} scripts per user`);
    await this.c.query(`INSERT INTO sieve_scripts (user_id, name, script, size) VALUES ($1, $2, $3, $4)
                          ON CONFLICT (user_id, name) DO UPDATE SET script = excluded.script, size = excluded.size`, [id, o.name, o.text, size]);
  }

  async activate(o: Op<'sieve.activate'>): Promise<void> {
    const id = await this.user(o.user);
    if (o.name !== null) await this.existing(id, o.name);
    await this.c.query('UPDATE sieve_scripts SET active = false WHERE user_id = $1 AND active', [id]);
    if (o.name !== null) await this.c.query('UPDATE sieve_scripts SET active = true WHERE user_id = $1 AND name = $2', [id, o.name]);
  }

  async delete(o: Op<'sieve.delete'>): Promise<void> {
    const id = await this.user(o.user);
    if ((await this.existing(id, o.name)).active) throw new SieveStoreError('ACTIVE', `"${o.name}" is the active script; deactivate it first`);
    await this.c.query('DELETE FROM sieve_scripts WHERE user_id = $1 AND name = $2', [id, o.name]);
  }

  async rename(o: Op<'sieve.rename'>): Promise<void> {
    const id = await this.user(o.user);
    await this.existing(id, o.from);
    if (o.from === o.to) return;
    if ((await this.c.query('SELECT 1 FROM sieve_scripts WHERE user_id = $1 AND name = $2', [id, o.to])).rowCount) {
      throw new SieveStoreError('ALREADYEXISTS', `a script named "${o.to}" already exists`);
    }
    await this.c.query('UPDATE sieve_scripts SET name = $1 WHERE user_id = $2 AND name = $3', [o.to, id, o.from]);
  }

  async remember(o: Op<'sieve.remember'>): Promise<void> {
    // No user lock: a delivery must not wait for a script upload; the key's own row serialises.
    const id = await this.userId(o.user, false);
    if (id === null) return;
    await this.c.query('DELETE FROM sieve_memory WHERE user_id = $1 AND expires <= $2', [id, o.now]);
    await this.c.query(`INSERT INTO sieve_memory (user_id, key, expires) VALUES ($1, $2, $3)
                          ON CONFLICT (user_id, key) DO UPDATE SET expires = GREATEST(sieve_memory.expires, excluded.expires)`, [id, o.key, o.expires]);
  }
}
