import type { DB } from './schema.js';
import type { IndexedText } from '../search.js';

/**
 * The writer's side of the full-text index (src/store/search.ts): one FTS5 row per body, keyed
 * by the body's rowid, and the body's text_state (schema v5). Re-indexing a body replaces its row.
 */
export class SearchOps {
  private readonly q;

  constructor(db: DB) {
    this.q = {
      blob: db.prepare<[string], { rowid: number; text_state: number | null }>('SELECT rowid, text_state FROM blobs WHERE id = ?'),
      del: db.prepare('DELETE FROM search_text WHERE rowid = ?'),
      ins: db.prepare('INSERT INTO search_text (rowid, h, b) VALUES (?, ?, ?)'),
      state: db.prepare('UPDATE blobs SET text_state = ? WHERE rowid = ?'),
    };
  }

  index(items: [blobId: string, text: IndexedText | null][]): void {
    for (const [id, text] of items) {
      const b = this.q.blob.get(id);
      if (!b) continue; // collected meanwhile
      if (b.text_state !== null) this.q.del.run(b.rowid);
      if (text?.complete) this.q.ins.run(b.rowid, text.header, text.body);
      this.q.state.run(text?.complete ? 1 : 0, b.rowid);
    }
  }
}
