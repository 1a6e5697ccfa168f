import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type DB = Database.Database;

/**
 * The one schema of the embedded database (users, mailboxes, messages, the queue, SASL
 * secrets), as numbered migrations: migration N takes a database from user_version N to N+1.
 * Append new ones at the end; never edit one that has shipped.
 */
export const MIGRATIONS: string[] = [
  // v1
  `CREATE TABLE users (
     id INTEGER PRIMARY KEY,
     address TEXT NOT NULL UNIQUE,
     password_hash TEXT NOT NULL,
     created INTEGER NOT NULL
   );
   CREATE TABLE mailboxes (
     id INTEGER PRIMARY KEY,
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     uidvalidity INTEGER NOT NULL,
     uidnext INTEGER NOT NULL DEFAULT 1,
     highestmodseq INTEGER NOT NULL DEFAULT 1,
     special_use TEXT,
     subscribed INTEGER NOT NULL DEFAULT 1,
     UNIQUE (user_id, name)
   );
   CREATE TABLE blobs (
     id TEXT PRIMARY KEY,
     size INTEGER NOT NULL,
     mime TEXT
   );
   CREATE TABLE messages (
     id INTEGER PRIMARY KEY,
     mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
     uid INTEGER NOT NULL,
     blob_id TEXT NOT NULL,
     size INTEGER NOT NULL,
     internaldate INTEGER NOT NULL,
     flags TEXT NOT NULL DEFAULT '',
     modseq INTEGER NOT NULL,
     idem_key TEXT UNIQUE,
     UNIQUE (mailbox_id, uid)
   );
   CREATE INDEX messages_blob ON messages(blob_id);
   CREATE TABLE queue (
     id TEXT PRIMARY KEY,
     blob_id TEXT NOT NULL,
     sender TEXT NOT NULL,
     envelope TEXT NOT NULL,
     size INTEGER NOT NULL,
     trace_skip INTEGER NOT NULL,
     created INTEGER NOT NULL,
     held INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX queue_blob ON queue(blob_id);
   CREATE TABLE queue_rcpt (
     queue_id TEXT NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
     rcpt TEXT NOT NULL,
     orcpt TEXT,
     notify TEXT,
     status TEXT NOT NULL DEFAULT 'pending',
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     PRIMARY KEY (queue_id, rcpt)
   );
   CREATE INDEX queue_rcpt_due ON queue_rcpt(status, next_attempt);
   CREATE TABLE stats (
     key TEXT PRIMARY KEY,
     value INTEGER NOT NULL
   );`,
  // v2: IMAP. Expunged UIDs with their mod-sequence (RFC 7162 QRESYNC VANISHED), subscriptions
  // as names (they may outlive the mailbox), ACLs (RFC 4314), quotas (RFC 9208) with usage kept
  // by triggers so that a quota check is one row read.
  `CREATE TABLE expunged (
     mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
     uid INTEGER NOT NULL,
     modseq INTEGER NOT NULL,
     PRIMARY KEY (mailbox_id, uid)
   ) WITHOUT ROWID;
   CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
   CREATE TABLE subscriptions (
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     PRIMARY KEY (user_id, name)
   ) WITHOUT ROWID;
   INSERT INTO subscriptions SELECT user_id, name FROM mailboxes WHERE subscribed = 1;
   CREATE TRIGGER mailbox_subscribed AFTER INSERT ON mailboxes WHEN NEW.subscribed = 1
   BEGIN INSERT OR IGNORE INTO subscriptions (user_id, name) VALUES (NEW.user_id, NEW.name); END;
   CREATE TABLE acl (
     mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
     identifier TEXT NOT NULL,
     rights TEXT NOT NULL,
     PRIMARY KEY (mailbox_id, identifier)
   ) WITHOUT ROWID;
   CREATE INDEX acl_identifier ON acl(identifier);
   CREATE TABLE quotas (
     user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
     storage_limit INTEGER,
     message_limit INTEGER
   );
   CREATE TABLE usage (
     user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
     bytes INTEGER NOT NULL DEFAULT 0,
     messages INTEGER NOT NULL DEFAULT 0
   );
   INSERT INTO usage (user_id, bytes, messages)
     SELECT u.id, COALESCE(SUM(m.size), 0), COUNT(m.id)
       FROM users u LEFT JOIN mailboxes b ON b.user_id = u.id LEFT JOIN messages m ON m.mailbox_id = b.id
      GROUP BY u.id;
   CREATE TRIGGER usage_user AFTER INSERT ON users
   BEGIN INSERT INTO usage (user_id) VALUES (NEW.id); END;
   CREATE TRIGGER usage_add AFTER INSERT ON messages
   BEGIN UPDATE usage SET bytes = bytes + NEW.size, messages = messages + 1
          WHERE user_id = (SELECT user_id FROM mailboxes WHERE id = NEW.mailbox_id); END;
   CREATE TRIGGER usage_del AFTER DELETE ON messages
   BEGIN UPDATE usage SET bytes = bytes - OLD.size, messages = messages - 1
          WHERE user_id = (SELECT user_id FROM mailboxes WHERE id = OLD.mailbox_id); END;`,
  // v3: outbound bookkeeping: which recipients already had their one "delayed" DSN. Releases
  // before the schema moved into src/store/ created it ad hoc, hence IF NOT EXISTS.
  `CREATE TABLE IF NOT EXISTS queue_warned (
     queue_id TEXT NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
     rcpt TEXT NOT NULL,
     PRIMARY KEY (queue_id, rcpt)
   ) WITHOUT ROWID;`,
  // v4: challenge-response secrets (CRAM-MD5, DIGEST-MD5, SCRAM), each tied to a digest of the
  // password hash it was derived with (a stale one is never used). Also made ad hoc before.
  `CREATE TABLE IF NOT EXISTS sasl_secrets (
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     scheme TEXT NOT NULL,
     secret TEXT NOT NULL,
     hash_ref TEXT NOT NULL,
     PRIMARY KEY (user_id, scheme)
   ) WITHOUT ROWID;`,
  // v5: Sieve (RFC 5228, RFC 5804): users' scripts, at most one active per user (the partial
  // unique index), and the memory of Sieve at delivery (vacation's per-sender :days, duplicate's
  // ids) as keys with an expiry time (ms).
  `CREATE TABLE sieve_scripts (
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     script TEXT NOT NULL,
     size INTEGER NOT NULL,
     active INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (user_id, name)
   ) WITHOUT ROWID;
   CREATE UNIQUE INDEX sieve_one_active ON sieve_scripts(user_id) WHERE active = 1;
   CREATE TABLE sieve_memory (
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     key TEXT NOT NULL,
     expires INTEGER NOT NULL,
     PRIMARY KEY (user_id, key)
   ) WITHOUT ROWID;`,
  // v6 (issue 10.1): CREATE no longer subscribes (the default folders of a new account are
  // subscribed by createUser); DELETE and RENAME take their subscriptions along. Subscriptions
  // of own names that no longer exist were left by DELETE/RENAME before (SUBSCRIBE needs an
  // existing mailbox), so they go; those of shared names ("Other Users/...") are the user's own.
  `DROP TRIGGER IF EXISTS mailbox_subscribed;
   DELETE FROM subscriptions
    WHERE substr(name, 1, 12) <> 'Other Users/'
      AND NOT EXISTS (SELECT 1 FROM mailboxes b WHERE b.user_id = subscriptions.user_id AND b.name = subscriptions.name);
   UPDATE mailboxes SET subscribed = EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = mailboxes.user_id AND s.name = mailboxes.name);`,
  // v7: the full-text index (src/store/search.ts). One row per body, keyed by the body's rowid,
  // of text already folded by the caller; trigram so that any substring of 3+ characters is
  // found (IMAP SEARCH is substring matching, RFC 9051 6.4.4). Contentless: the text is not
  // stored twice. blobs.text_state: NULL not indexed yet, 1 indexed completely, 0 indexed in
  // part or not indexable (such a body is a candidate of every search). Bodies of an older
  // store are indexed by the background indexer (src/queue/text-index.ts) after the upgrade.
  `ALTER TABLE blobs ADD COLUMN text_state INTEGER;
   CREATE INDEX blobs_text_todo ON blobs(id) WHERE text_state IS NULL;
   CREATE VIRTUAL TABLE search_text USING fts5(h, b, content='', contentless_delete=1, tokenize='trigram case_sensitive 1');
   CREATE TRIGGER blob_text_gone AFTER DELETE ON blobs WHEN OLD.text_state IS NOT NULL
   BEGIN DELETE FROM search_text WHERE rowid = OLD.rowid; END;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** A database written by a newer Correo may hold data this code would misread or break. */
export class SchemaTooNewError extends Error {
  constructor(readonly file: string, readonly found: number) {
    super(`${file}: database schema version ${found} is newer than this Correo knows (version ${SCHEMA_VERSION}); ` +
      'run the Correo release that wrote it, or restore a backup made for this one');
  }
}

/**
 * Opens data_dir/correo.db: WAL, so readers never wait for the writer and a COMMIT with
 * synchronous=FULL is on disk when it returns (the "250 queued" promise rests on it).
 * The first connection migrates the schema in place; a schema newer than this code is refused
 * before anything is written to the file (not even the WAL switch).
 */
export function openDatabase(dataDir: string): DB {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'correo.db');
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 10000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new SchemaTooNewError(file, version);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    if (version < SCHEMA_VERSION) migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

function migrate(db: DB): void {
  // BEGIN IMMEDIATE: two processes opening an old database at once migrate it once.
  db.transaction(() => {
    const now = db.pragma('user_version', { simple: true }) as number;
    for (let v = now; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    if (now < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
