import type { DB } from './schema.js';

/**
 * Which of these body ids a record still holds (a blob row, a message, a queue entry), read on
 * the read connection: what FsBlobStore.sweepOrphans keeps. Many ids per statement, since a
 * sweep asks about every body file once.
 */
export function referencedBlobs(db: DB): (ids: string[]) => Set<string> {
  const CHUNK = 400;
  const shapes = new Map<number, (ids: string[]) => string[]>();
  const query = (n: number) => {
    let q = shapes.get(n);
    if (!q) {
      const list = Array.from({ length: n }, () => '?').join(', ');
      const st = db.prepare<string[], { id: string }>(
        `SELECT id FROM blobs WHERE id IN (${list})
          UNION SELECT blob_id FROM messages WHERE blob_id IN (${list})
          UNION SELECT blob_id FROM queue WHERE blob_id IN (${list})`);
      q = (ids) => st.all(...ids, ...ids, ...ids).map((r) => r.id);
      shapes.set(n, q);
    }
    return q;
  };
  return (ids) => {
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      for (const id of query(part.length)(part)) out.add(id);
    }
    return out;
  };
}
