import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { openDatabase, type DB } from './sqlite/schema.js';
import { FsBlobStore, type BlobStore } from './blobs.js';
import { newPool, safeUrl, type PgConnection } from './postgres/connect.js';
import { migratePg } from './postgres/schema.js';
import { PgBlobStore } from './postgres/blobs.js';

/**
 * `correo store migrate`: copies a whole store, rows and bodies, from one backend to the other
 * (SQLite data_dir <-> PostgreSQL database) with the ids, UIDs, UIDVALIDITY and mod-sequences
 * as they are (IMAP clients' caches stay valid), then verifies: the rows of every table counted
 * on both sides, and every body's SHA-256 compared. The target must be empty; the server must
 * be stopped (nothing may change the source meanwhile).
 */

/** Tables in an order that satisfies the foreign keys; usage is rebuilt by the target's triggers. */
const TABLES: { name: string; cols: string[]; key: string; bools?: string[] }[] = [
  { name: 'users', cols: ['id', 'address', 'password_hash', 'created'], key: 'id' },
  { name: 'mailboxes', cols: ['id', 'user_id', 'name', 'uidvalidity', 'uidnext', 'highestmodseq', 'special_use', 'subscribed'], key: 'id', bools: ['subscribed'] },
  { name: 'blobs', cols: ['id', 'size', 'mime'], key: 'id' },
  { name: 'messages', cols: ['id', 'mailbox_id', 'uid', 'blob_id', 'size', 'internaldate', 'flags', 'modseq', 'idem_key'], key: 'id' },
  { name: 'queue', cols: ['id', 'blob_id', 'sender', 'envelope', 'size', 'trace_skip', 'created', 'held'], key: 'id', bools: ['held'] },
  { name: 'queue_rcpt', cols: ['queue_id', 'rcpt', 'orcpt', 'notify', 'status', 'attempts', 'next_attempt', 'last_error'], key: 'queue_id, rcpt' },
  { name: 'queue_warned', cols: ['queue_id', 'rcpt'], key: 'queue_id, rcpt' },
  { name: 'expunged', cols: ['mailbox_id', 'uid', 'modseq'], key: 'mailbox_id, uid' },
  { name: 'subscriptions', cols: ['user_id', 'name'], key: 'user_id, name' },
  { name: 'acl', cols: ['mailbox_id', 'identifier', 'rights'], key: 'mailbox_id, identifier' },
  { name: 'quotas', cols: ['user_id', 'storage_limit', 'message_limit'], key: 'user_id' },
  { name: 'sasl_secrets', cols: ['user_id', 'scheme', 'secret', 'hash_ref'], key: 'user_id, scheme' },
  { name: 'sieve_scripts', cols: ['user_id', 'name', 'script', 'size', 'active'], key: 'user_id, name', bools: ['active'] },
  { name: 'sieve_memory', cols: ['user_id', 'key', 'expires'], key: 'user_id, key' },
];
const PAGE = 2000;

type Row = unknown[];

/** One side of a migration: rows by page, bulk inserts, body access. */
interface Side {
  describe: string;
  blobs: BlobStore;
  page(table: (typeof TABLES)[number], offset: number): Promise<Row[]>;
  insert(table: (typeof TABLES)[number], rows: Row[]): Promise<void>;
  count(table: string): Promise<number>;
  /** Counters of `correo stats`, summed. */
  stats(): Promise<Map<string, number>>;
  addStats(stats: Map<string, number>): Promise<void>;
  /** After the copy: identity sequences and the UIDVALIDITY counter past the copied values. */
  finish(): Promise<void>;
  close(): Promise<void>;
}

function sqliteSide(dir: string): Side {
  const db: DB = openDatabase(dir);
  const blobs = new FsBlobStore(join(dir, 'blobs'));
  return {
    describe: `SQLite store in ${dir}`,
    blobs,
    async page(t, offset) {
      return db.prepare(`SELECT ${t.cols.join(', ')} FROM ${t.name} ORDER BY ${t.key} LIMIT ? OFFSET ?`).raw().all(PAGE, offset) as Row[];
    },
    async insert(t, rows) {
      const st = db.prepare(`INSERT INTO ${t.name} (${t.cols.join(', ')}) VALUES (${t.cols.map(() => '?').join(', ')})`);
      const bools = new Set((t.bools ?? []).map((c) => t.cols.indexOf(c)));
      db.transaction(() => {
        for (const r of rows) st.run(...r.map((v, i) => (bools.has(i) ? (v ? 1 : 0) : v)));
      })();
    },
    async count(table) {
      return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    },
    async stats() {
      return new Map((db.prepare('SELECT key, value FROM stats').all() as { key: string; value: number }[]).map((r) => [r.key, r.value]));
    },
    async addStats(stats) {
      const st = db.prepare('INSERT INTO stats (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value');
      db.transaction(() => { for (const [k, v] of stats) st.run(k, v); })();
    },
    async finish() {
      // The subscribed trigger of old schemas is gone (v6); nothing else to do: rowids follow max(id).
    },
    async close() {
      db.close();
    },
  };
}

async function pgSide(c: PgConnection): Promise<Side> {
  const pool: pg.Pool = newPool(c);
  try {
    await migratePg(pool, c.url);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  return {
    describe: `PostgreSQL database ${safeUrl(c.url)}`,
    blobs: new PgBlobStore(pool, 'migrate'),
    async page(t, offset) {
      const r = await pool.query({ text: `SELECT ${t.cols.join(', ')} FROM ${t.name} ORDER BY ${t.key} LIMIT $1 OFFSET $2`, values: [PAGE, offset], rowMode: 'array' });
      return r.rows as Row[];
    },
    async insert(t, rows) {
      if (!rows.length) return;
      const bools = new Set((t.bools ?? []).map((col) => t.cols.indexOf(col)));
      const per = t.cols.length;
      const values = rows.map((_, i) => `(${t.cols.map((__, j) => `$${i * per + j + 1}`).join(', ')})`).join(', ');
      await pool.query(`INSERT INTO ${t.name} (${t.cols.join(', ')}) VALUES ${values}`,
        rows.flatMap((r) => r.map((v, i) => (bools.has(i) ? !!v : v))));
    },
    async count(table) {
      return (await pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n;
    },
    async stats() {
      return new Map((await pool.query<{ key: string; value: number }>('SELECT key, sum(value) AS value FROM stats GROUP BY key')).rows.map((r) => [r.key, r.value]));
    },
    async addStats(stats) {
      for (const [k, v] of stats) await pool.query('INSERT INTO stats (key, shard, value) VALUES ($1, 0, $2) ON CONFLICT (key, shard) DO UPDATE SET value = stats.value + excluded.value', [k, v]);
    },
    async finish() {
      for (const t of ['users', 'mailboxes', 'messages']) {
        await pool.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), GREATEST((SELECT max(id) FROM ${t}), 1))`);
      }
      await pool.query('UPDATE uidvalidity SET v = GREATEST(v, (SELECT COALESCE(max(uidvalidity), 0) FROM mailboxes))');
    },
    async close() {
      await pool.end();
    },
  };
}

/** "postgres://..." or "postgresql://...", else a directory (optionally "sqlite:DIR"). */
export async function openSide(target: string, pgPassword?: { passwordFile?: string | null }): Promise<Side> {
  if (/^postgres(ql)?:\/\//.test(target)) return pgSide({ url: target, passwordFile: pgPassword?.passwordFile ?? null, poolSize: 4 });
  return sqliteSide(target.replace(/^sqlite:/, ''));
}

export interface MigrationReport {
  tables: [name: string, rows: number][];
  bodies: number;
  bytes: number;
}

/**
 * Copies `from` into `to` (which must hold no user and no queue entry), then verifies. Every
 * problem throws with what differs; `progress` gets one line per step.
 */
export async function migrateStore(from: Side, to: Side, progress: (line: string) => void): Promise<MigrationReport> {
  if ((await to.count('users')) || (await to.count('queue')) || (await to.count('blobs'))) {
    throw new Error(`${to.describe} is not empty: the target of a migration must be a new store`);
  }
  const report: MigrationReport = { tables: [], bodies: 0, bytes: 0 };
  const blobIds: string[] = [];
  for (const t of TABLES) {
    let n = 0;
    for (let off = 0; ; off += PAGE) {
      const rows = await from.page(t, off);
      if (!rows.length) break;
      if (t.name === 'blobs') {
        // Bodies before their rows: a row never names a body the target lacks.
        for (const r of rows) {
          const id = r[0] as string;
          const bytes = await from.blobs.read(id);
          const w = await to.blobs.create(id);
          await w.write([bytes]);
          await w.commit();
          blobIds.push(id);
          report.bytes += bytes.length;
        }
      }
      await to.insert(t, rows);
      n += rows.length;
    }
    report.tables.push([t.name, n]);
    progress(`${t.name}: ${n} rows`);
  }
  await to.addStats(await from.stats());
  await to.finish();
  await verify(from, to, blobIds, report);
  report.bodies = blobIds.length;
  progress(`bodies: ${blobIds.length} (${report.bytes} octets), every one's SHA-256 the same on both sides`);
  return report;
}

async function verify(from: Side, to: Side, blobIds: string[], report: MigrationReport): Promise<void> {
  for (const [name, n] of report.tables) {
    const [a, b] = [await from.count(name), await to.count(name)];
    if (a !== n || b !== n) throw new Error(`verification failed: table ${name} has ${a} rows in the source, ${b} in the target, ${n} copied`);
  }
  const [sa, sb] = [await from.stats(), await to.stats()];
  for (const [k, v] of sa) if (sb.get(k) !== v) throw new Error(`verification failed: counter ${k} is ${v} in the source, ${sb.get(k)} in the target`);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  for (const id of blobIds) {
    const [a, b] = [sha(await from.blobs.read(id)), sha(await to.blobs.read(id))];
    if (a !== b) throw new Error(`verification failed: body ${id} differs (SHA-256 ${a} in the source, ${b} in the target)`);
  }
}

/** A directory target must be new or empty (a data_dir with a database is a store already). */
export function checkNewDir(dir: string): void {
  if (existsSync(join(dir, 'correo.db'))) throw new Error(`${dir} already holds a store (correo.db): the target of a migration must be a new store`);
  if (existsSync(dir) && readdirSync(dir).some((f) => f !== 'blobs')) throw new Error(`${dir} is not empty: the target of a migration must be a new directory`);
}
