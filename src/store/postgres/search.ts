import type pg from 'pg';
import { MIN_NEEDLE, type IndexedText, type SearchIndex, type TextQuery } from '../search.js';

/**
 * The full-text index on PostgreSQL (src/store/search.ts): the folded text of each body in
 * blob_text (PG schema v2), tested with strpos (an exact substring test, like SQLite's trigram
 * phrases). It narrows which body files IMAP reads; the scan of the mailbox's texts runs in
 * the database. A pg_trgm GIN index on h and b would make the scan an index lookup where the
 * extension is installed (it needs a superuser to create): not done yet.
 */

const COLUMNS = { header: ['t.h'], body: ['t.b'], any: ['t.h', 't.b'] } as const;

/** The condition of `q` on blob_text t, its needles appended to `args` ($n placeholders). */
function condition(q: TextQuery, args: unknown[]): string {
  if (q.k === 'contains') {
    if ([...q.text].length < MIN_NEEDLE) throw new Error('full-text needle shorter than 3 characters');
    args.push(q.text);
    return `(${COLUMNS[q.field].map((c) => `strpos(${c}, $${args.length}) > 0`).join(' OR ')})`;
  }
  return `(${q.qs.map((x) => condition(x, args)).join(q.k === 'and' ? ' AND ' : ' OR ')})`;
}

export class PgSearch implements SearchIndex {
  constructor(private readonly pool: pg.Pool) {}

  async textCandidates(mailboxId: number, q: TextQuery): Promise<number[]> {
    const args: unknown[] = [mailboxId];
    const cond = condition(q, args);
    const r = await this.pool.query<{ uid: number }>(
      `SELECT m.uid FROM messages m JOIN blobs b ON b.id = m.blob_id LEFT JOIN blob_text t ON t.blob_id = b.id
        WHERE m.mailbox_id = $1 AND (b.text_state IS DISTINCT FROM 1 OR ${cond}) ORDER BY m.uid`, args);
    return r.rows.map((x) => Number(x.uid));
  }

  async unindexedBodies(limit: number): Promise<{ blobId: string; size: number }[]> {
    const r = await this.pool.query<{ id: string; size: string }>(
      `SELECT b.id, b.size FROM blobs b WHERE b.text_state IS NULL
          AND EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id) LIMIT $1`, [limit]);
    return r.rows.map((x) => ({ blobId: x.id, size: Number(x.size) }));
  }
}

/** The writer's side: blob.text and an APPEND's new body. Re-indexing replaces the entry. */
export async function indexBodies(c: pg.ClientBase, items: [blobId: string, text: IndexedText | null][]): Promise<void> {
  for (const [id, text] of items) {
    const r = await c.query('UPDATE blobs SET text_state = $1 WHERE id = $2', [text?.complete ? 1 : 0, id]);
    if (!r.rowCount) continue; // collected meanwhile
    if (text?.complete) {
      await c.query(
        `INSERT INTO blob_text (blob_id, h, b) VALUES ($1, $2, $3)
         ON CONFLICT (blob_id) DO UPDATE SET h = excluded.h, b = excluded.b`, [id, text.header, text.body]);
    } else {
      await c.query('DELETE FROM blob_text WHERE blob_id = $1', [id]);
    }
  }
}
