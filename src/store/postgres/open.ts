import { hostname } from 'node:os';
import { join } from 'node:path';
import { clientConfig, newPool, type PgConnection } from './connect.js';
import { migratePg } from './schema.js';
import { PgCommitter } from './committer.js';
import { PgMailboxes } from './mailboxes.js';
import { PgQueue } from './queue.js';
import { PgSecrets, PgUserDirectory } from './accounts.js';
import { PgBlobStore } from './blobs.js';
import { PgLocks } from './locks.js';
import { PgSearch } from './search.js';
import { PgSieve } from './sieve.js';
import { PgListener, PgNotifier, PgQueueSignal } from './notify.js';
import { FsBlobStore, type BlobStore } from '../blobs.js';
import type { Stores } from '../open.js';
import type { WriteBatch } from '../batch.js';

export interface OpenPgOptions extends PgConnection {
  /** This node's name (leases name it); default: the host name and process id. */
  nodeId?: string | null;
  /** A directory every node mounts, for bodies as files; null: bodies in the database. */
  blobDir?: string | null;
  /** Remove bodies no record holds (left by a crash mid-DATA, an hour old at least). */
  sweepOrphans?: boolean;
}

/**
 * Opens the PostgreSQL store: migrates the schema (refusing a newer one), loads the user
 * directory, starts LISTEN. Several nodes may open the same database at once.
 */
export async function openPostgresStore(o: OpenPgOptions): Promise<Stores> {
  const pool = newPool(o);
  const listener = new PgListener(clientConfig(o), pool);
  const locks = new PgLocks(clientConfig(o));
  try {
    await migratePg(pool, o.url);
    await listener.start();
  } catch (e) {
    await listener.close();
    await pool.end().catch(() => undefined);
    throw e;
  }
  const node = o.nodeId || `${hostname()}:${process.pid}`;
  const pgBlobs = o.blobDir ? null : new PgBlobStore(pool, node);
  const blobs: BlobStore = pgBlobs ?? new FsBlobStore(join(o.blobDir!));
  const users = new PgUserDirectory(pool);
  await users.reload();
  const onCommitted = (batch: WriteBatch) => {
    for (const part of batch.parts) for (const op of part.ops) {
      if (op.op === 'user.create') {
        users.added(op.address);
        listener.publish('correo_users', op.address.toLowerCase());
      } else if (op.op === 'user.delete') {
        users.removed(op.address);
        listener.publish('correo_users', op.address.toLowerCase());
      }
    }
  };
  const committer = new PgCommitter(pool, blobs, onCommitted);
  // Another node changed users, or we were away: read the list again.
  const reloadUsers = () => void users.reload().catch(() => undefined);
  listener.events.on('correo_users', reloadUsers);
  listener.events.on('reconnect', reloadUsers);
  const refresh = setInterval(reloadUsers, 60_000);
  refresh.unref();
  const orphansSwept = o.sweepOrphans && pgBlobs ? pgBlobs.sweepOrphans() : Promise.resolve(0);
  let closing: Promise<void> | null = null;
  return {
    mailboxes: new PgMailboxes(pool, committer),
    queue: new PgQueue(pool, committer, node),
    secrets: new PgSecrets(pool, committer),
    users,
    sieve: new PgSieve(pool, committer),
    search: new PgSearch(pool),
    blobs,
    locks,
    changes: new PgNotifier(listener),
    queueSignal: new PgQueueSignal(listener),
    orphansSwept,
    close() {
      closing ??= (async () => {
        clearInterval(refresh);
        await orphansSwept.catch(() => 0);
        await committer.close();
        await locks.close();
        await listener.close();
        await pool.end();
      })();
      return closing;
    },
  };
}
