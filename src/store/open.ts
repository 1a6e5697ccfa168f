import { join } from 'node:path';
import type { Store } from './types.js';
import type { SecretStore, UserDirectory } from './accounts.js';
import type { QueueStore } from './queue.js';
import { FsBlobStore, type BlobStore } from './blobs.js';
import { InProcessLocks, type Locks } from './locks.js';
import { InProcessNotifier, InProcessQueueSignal, type ChangeNotifier, type QueueSignal } from './notify.js';
import { openDatabase } from './sqlite/schema.js';
import { InlineWriter, type Writer } from './sqlite/writer.js';
import { ThreadWriter } from './sqlite/writer-thread.js';
import { Committer } from './sqlite/committer.js';
import { SqliteMailboxes } from './sqlite/mailboxes.js';
import { SqliteQueue } from './sqlite/queue.js';
import { SqliteSecrets, SqliteUserDirectory } from './sqlite/accounts.js';
import { SqliteSieve } from './sqlite/sieve.js';
import type { SieveStore } from './sieve.js';
import { SqliteSearch } from './sqlite/search.js';
import type { SearchIndex } from './search.js';
import { referencedBlobs } from './sqlite/orphans.js';

/** Everything stored, behind its interfaces: what the server, the CLI and the tests get. */
export interface Stores {
  /** Users and mailboxes (IMAP, POP3, the CLI). */
  mailboxes: Store;
  /** The full-text index: which messages a text search must read. */
  search: SearchIndex;
  queue: QueueStore;
  secrets: SecretStore;
  users: UserDirectory;
  /** Users' Sieve scripts and Sieve's memory at delivery. */
  sieve: SieveStore;
  blobs: BlobStore;
  locks: Locks;
  changes: ChangeNotifier;
  /** Wakes the queue runners (local delivery, outbound). */
  queueSignal: QueueSignal;
  /** How many orphan body files the sweep at open removed (0 without `sweepOrphans`). */
  orphansSwept: Promise<number>;
  /** Waits for the writes under way, then closes. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** data_dir: correo.db and blobs/ live here. */
  dataDir: string;
  /**
   * 'thread' (the server): commits run on a writer thread, off the event loop. 'inline' (CLI
   * commands, some tests): on this thread, which is cheaper for a few writes.
   */
  writer?: 'thread' | 'inline';
  /** The writer thread died: the store is unusable (the server logs this and exits). */
  onFatal?: (e: Error) => void;
  /**
   * Remove, in the background, body files no record holds (left by a crash between a body's
   * write and its commit). Only for the one process that owns the data_dir: the server.
   */
  sweepOrphans?: boolean;
}

/**
 * Opens the embedded store (SQLite + body files) on a data dir, migrating an older schema in
 * place; a schema newer than this code throws (SchemaTooNewError) before anything else opens.
 */
export function openStore(o: OpenStoreOptions): Stores {
  // The read connection opens first: it migrates, and refuses a too-new schema, right here.
  const db = openDatabase(o.dataDir);
  let writer: Writer;
  try {
    writer = o.writer === 'thread'
      ? new ThreadWriter(o.dataDir, o.onFatal ?? ((e) => { throw e; }))
      : new InlineWriter(db);
  } catch (e) {
    db.close();
    throw e;
  }
  if (o.writer === 'thread') db.pragma('query_only = ON');
  const blobs = new FsBlobStore(join(o.dataDir, 'blobs'));
  const committer = new Committer(writer, blobs);
  const mailboxes = new SqliteMailboxes(db, committer);
  const orphansSwept = o.sweepOrphans ? blobs.sweepOrphans(referencedBlobs(db)) : Promise.resolve(0);
  let closing: Promise<void> | null = null;
  return {
    mailboxes,
    queue: new SqliteQueue(db, committer),
    search: new SqliteSearch(db),
    secrets: new SqliteSecrets(db, committer),
    users: new SqliteUserDirectory(db),
    sieve: new SqliteSieve(db, committer),
    blobs,
    locks: new InProcessLocks(),
    changes: new InProcessNotifier(),
    queueSignal: new InProcessQueueSignal(),
    orphansSwept,
    close() {
      closing ??= (async () => {
        await orphansSwept.catch(() => 0); // it reads the database being closed
        await mailboxes.flush();
        await writer.close();
        db.close();
      })();
      return closing;
    },
  };
}
