import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type DB = Database.Database;

/**
 * The embedded metadata database: users, mailboxes, messages, the queue. WAL with
 * synchronous=FULL, so a COMMIT is on disk when it returns: the queue's promise to the
 * SMTP client ("250 queued") rests on it. Commits are grouped by the callers (group commit).
 */
const SCHEMA: string[] = [
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
];

/**
 * A database written by a newer Correo may hold data this code would misread or break: it is
 * refused before anything is written to it (not even the WAL switch), with both versions named.
 */
function refuseNewerSchema(db: DB, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version <= SCHEMA.length) return;
  db.close();
  throw new Error(`${file}: database schema version ${version} is newer than this Correo knows (version ${SCHEMA.length}); ` +
    'run the Correo release that wrote it, or restore a backup made for this one');
}

export function openDatabase(dataDir: string): DB {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'correo.db');
  const db = new Database(file);
  refuseNewerSchema(db, file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 10000');
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < SCHEMA.length; v++) {
    db.transaction(() => {
      db.exec(SCHEMA[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}
