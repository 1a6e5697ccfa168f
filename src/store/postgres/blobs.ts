import type pg from 'pg';
import { Readable } from 'node:stream';
import type { BlobStore, BlobWriter } from '../blobs.js';

/** Bytes per row of blob_data: large enough for few rows per message, small enough to stream. */
const CHUNK = 256 * 1024;
/** Bytes of a body whose writer has not seen its record after this long are an orphan (a crash mid-DATA). */
const ORPHAN_AGE_MS = 3600_000;

/** A string as an SQL literal (for the one multi-statement query, which takes no parameters). */
function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function checkId(id: string): void {
  if (!/^[A-Za-z0-9]+$/.test(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
}

/**
 * Message bodies in PostgreSQL itself (the default of the PostgreSQL store), so that every
 * node reads every body with nothing shared but the database: table blob_data, one row per
 * chunk, keyed by the chunk's offset (a range read fetches only the rows it needs).
 *
 * Writes: chunks go out as they fill, each in a commit that does not wait for the disk
 * (synchronous_commit off); commit() writes the rest with a commit that does, and WAL is
 * flushed in order, so when it returns every chunk before it is durable too.
 */
export class PgBlobStore implements BlobStore {
  private readonly opened = Date.now();

  /** `node`: this node's id, kept with each chunk (a restarted node collects its own orphans at once). */
  constructor(private readonly pool: pg.Pool, private readonly node: string) {}

  async create(id: string): Promise<BlobWriter> {
    checkId(id);
    // An id is written once (as a file opened with O_EXCL would be).
    const r = await this.pool.query('SELECT 1 FROM blob_data WHERE id = $1 UNION ALL SELECT 1 FROM blobs WHERE id = $1 LIMIT 1', [id]);
    if (r.rowCount) throw Object.assign(new Error(`body ${id} exists`), { code: 'EEXIST' });
    return new PgBlobWriter(id, this.pool, this.node);
  }

  async read(id: string): Promise<Buffer> {
    checkId(id);
    const rows = (await this.pool.query<{ data: Buffer }>('SELECT data FROM blob_data WHERE id = $1 ORDER BY off', [id])).rows;
    if (!rows.length && !(await this.known(id))) throw Object.assign(new Error(`no body ${id}`), { code: 'ENOENT' });
    return Buffer.concat(rows.map((r) => r.data));
  }

  /** An empty body has no rows; its blobs row says it exists. */
  private async known(id: string): Promise<boolean> {
    return (await this.pool.query('SELECT 1 FROM blobs WHERE id = $1 AND size = 0', [id])).rowCount === 1;
  }

  async slice(id: string, start: number, end: number): Promise<Buffer> {
    checkId(id);
    if (end <= start) return Buffer.alloc(0);
    const rows = (await this.pool.query<{ off: number; data: Buffer }>(
      `SELECT off, data FROM blob_data WHERE id = $1 AND off < $3 AND off + length(data) > $2 ORDER BY off`, [id, start, end])).rows;
    if (!rows.length && !(await this.pool.query('SELECT 1 FROM blob_data WHERE id = $1 LIMIT 1', [id])).rowCount && !(await this.known(id))) {
      throw Object.assign(new Error(`no body ${id}`), { code: 'ENOENT' });
    }
    const parts = rows.map((r) => r.data.subarray(Math.max(0, start - r.off), Math.max(0, Math.min(r.data.length, end - r.off))));
    return Buffer.concat(parts);
  }

  stream(id: string, start = 0, end?: number): Readable {
    const pool = this.pool;
    let pos = start;
    return new Readable({
      async read() {
        try {
          const stop = end ?? Number.MAX_SAFE_INTEGER;
          if (pos >= stop) return void this.push(null);
          const r = (await pool.query<{ off: number; data: Buffer }>(
            'SELECT off, data FROM blob_data WHERE id = $1 AND off + length(data) > $2 AND off < $3 ORDER BY off LIMIT 1', [id, pos, stop])).rows[0];
          if (!r) return void this.push(null);
          const part = r.data.subarray(pos - r.off, Math.min(r.data.length, stop - r.off));
          pos = r.off + r.data.length;
          this.push(part);
        } catch (e) {
          this.destroy(e as Error);
        }
      },
    });
  }

  /** Removes the bytes, but never those of a body a record still holds (a commit whose answer was lost may have kept it). */
  async remove(id: string): Promise<void> {
    await this.pool.query('DELETE FROM blob_data d WHERE d.id = $1 AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = $1)', [id]);
  }

  freeBytes(): number | null {
    return null;
  }

  /**
   * Bodies no record holds: those this node wrote before it (re)started, and any node's an
   * hour old (another node may be writing one right now; node ids are unique per running
   * process, see docs/DECISIONS.md). Returns how many bodies went.
   */
  async sweepOrphans(): Promise<number> {
    const r = await this.pool.query(
      `DELETE FROM blob_data d WHERE (d.created < $1 OR (d.node = $2 AND d.created < $3))
          AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = d.id) RETURNING d.id`, [Date.now() - ORPHAN_AGE_MS, this.node, this.opened]);
    return new Set(r.rows.map((x: { id: string }) => x.id)).size;
  }
}

class PgBlobWriter implements BlobWriter {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private written = 0;
  private done = false;

  constructor(readonly id: string, private readonly pool: pg.Pool, private readonly node: string) {}

  async write(chunks: Buffer[]): Promise<void> {
    for (const c of chunks) {
      this.buffered.push(c);
      this.bufferedBytes += c.length;
    }
    while (this.bufferedBytes >= CHUNK) await this.flushChunk(false);
  }

  /** One row of CHUNK bytes (or the rest, at commit). */
  private async flushChunk(all: boolean): Promise<void> {
    const data = Buffer.concat(this.buffered);
    const n = all ? data.length : CHUNK;
    const rest = data.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.bufferedBytes = rest.length;
    if (!n) return;
    await this.pool.query(
      `BEGIN; SET LOCAL synchronous_commit = off; INSERT INTO blob_data (id, off, data, created, node) VALUES ('${this.id}', ${this.written}, decode('${data.subarray(0, n).toString('hex')}', 'hex'), ${Date.now()}, ${literal(this.node)}); COMMIT`);
    this.written += n;
  }

  async commit(insert?: { at: number; bytes: Buffer[] }): Promise<void> {
    const c = await this.pool.connect();
    let broken = false;
    try {
      await c.query('BEGIN');
      const rest = Buffer.concat(this.buffered);
      if (rest.length) await c.query('INSERT INTO blob_data (id, off, data, created, node) VALUES ($1, $2, $3, $4, $5)', [this.id, this.written, rest, Date.now(), this.node]);
      if (insert && insert.bytes.length) await spliceInto(c, this.id, insert.at, Buffer.concat(insert.bytes), this.node);
      await c.query('COMMIT');
      this.done = true;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => { broken = true; });
      throw e;
    } finally {
      c.release(broken);
    }
  }

  async abort(): Promise<void> {
    this.done = true;
    this.buffered = [];
    await this.pool.query('DELETE FROM blob_data d WHERE d.id = $1 AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = $1)', [this.id]).catch(() => undefined);
  }
}

/** Inserts `bytes` at offset `at`: the row holding `at` grows, the rows after it move. */
async function spliceInto(c: pg.ClientBase, id: string, at: number, bytes: Buffer, node: string): Promise<void> {
  const r = (await c.query<{ off: number; data: Buffer }>(
    'SELECT off, data FROM blob_data WHERE id = $1 AND off <= $2 ORDER BY off DESC LIMIT 1 FOR UPDATE', [id, at])).rows[0];
  if (!r) {
    await c.query('INSERT INTO blob_data (id, off, data, created, node) VALUES ($1, 0, $2, $3, $4)', [id, bytes, Date.now(), node]);
    return;
  }
  // Rows are CHUNK apart and trace fields are far smaller, so moving the later rows by their
  // length never lands one on another's offset (the key is checked row by row).
  await c.query('UPDATE blob_data SET off = off + $3 WHERE id = $1 AND off > $2', [id, r.off, bytes.length]);
  const k = at - r.off;
  await c.query('UPDATE blob_data SET data = $3 WHERE id = $1 AND off = $2', [id, r.off, Buffer.concat([r.data.subarray(0, k), bytes, r.data.subarray(k)])]);
}
