import type { DB } from '../store/db.js';

/**
 * Outbound bookkeeping beside the queue tables: which recipients already had their one
 * "delayed" DSN. Kept in its own table, created here, so it does not race the store's
 * numbered migrations; rows go with their queue entry (ON DELETE CASCADE).
 */
export function ensureOutboundSchema(db: DB): void {
  db.exec(`CREATE TABLE IF NOT EXISTS queue_warned (
             queue_id TEXT NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
             rcpt TEXT NOT NULL,
             PRIMARY KEY (queue_id, rcpt)
           ) WITHOUT ROWID`);
}
