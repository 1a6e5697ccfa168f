import type { DB } from './schema.js';
import { MIN_NEEDLE, type SearchIndex, type TextQuery } from '../search.js';

const COLUMNS = { header: 'h', body: 'b', any: '{h b}' } as const;

/** A TextQuery as an FTS5 query: each needle a quoted string (a trigram phrase is a substring test). */
export function ftsQuery(q: TextQuery): string {
  if (q.k === 'contains') {
    if ([...q.text].length < MIN_NEEDLE) throw new Error('full-text needle shorter than 3 characters');
    return `${COLUMNS[q.field]} : "${q.text.replace(/"/g, '""')}"`;
  }
  return `(${q.qs.map(ftsQuery).join(q.k === 'and' ? ' AND ' : ' OR ')})`;
}

/** SearchIndex on the read connection (FTS5 over the v5 schema). */
export class SqliteSearch implements SearchIndex {
  private readonly q;

  constructor(db: DB) {
    this.q = {
      // Bodies not completely indexed are candidates of every query (src/store/search.ts).
      candidates: db.prepare<[number, string], { uid: number }>(
        `SELECT m.uid FROM messages m JOIN blobs b ON b.id = m.blob_id
          WHERE m.mailbox_id = ? AND (b.text_state IS NOT 1 OR b.rowid IN (SELECT rowid FROM search_text WHERE search_text MATCH ?))
          ORDER BY m.uid`),
      todo: db.prepare<[number], { blobId: string; size: number }>(
        `SELECT b.id AS blobId, b.size FROM blobs b WHERE b.text_state IS NULL
            AND EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id) LIMIT ?`),
    };
  }

  async textCandidates(mailboxId: number, q: TextQuery): Promise<number[]> {
    return this.q.candidates.all(mailboxId, ftsQuery(q)).map((r) => r.uid);
  }

  async unindexedBodies(limit: number): Promise<{ blobId: string; size: number }[]> {
    return this.q.todo.all(limit);
  }
}
