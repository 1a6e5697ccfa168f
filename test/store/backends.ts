import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Stores } from '../../src/store/open.js';
import { openPostgresStore } from '../../src/store/postgres/open.js';
import { createTestDb, dropTestDb, pgSkip } from '../helpers/postgres.js';
import type { Store } from '../../src/store/types.js';

/**
 * The store conformance suite runs every case against each backend listed here. A backend
 * opens a fresh, empty store; `reopen` closes it and opens the same data again (what a
 * restart sees). SQLite with its writer thread (what `correo serve` runs) and with inline
 * writes (what the CLI runs); PostgreSQL, each store in a database of its own made for it
 * (skipped, with the reason, where no server answers).
 *
 * Everything the cases need from a backend goes through this harness, so that an interface
 * change in src/store/ changes this file, not the cases.
 */
export interface Harness {
  /** Every interface of the open store; replaced by reopen(). */
  stores: Stores;
  /** Users and mailboxes (stores.mailboxes). */
  readonly store: Store;
  /** Writes a complete message body (as delivery or IMAP APPEND does before the record). */
  writeBlob(id: string, bytes: Buffer | string): Promise<void>;
  /** The whole body, or a rejection when there is none. */
  readBlob(id: string): Promise<Buffer>;
  /** Bytes [start, end) of a body. */
  sliceBlob(id: string, start: number, end: number): Promise<Buffer>;
  /** Closes the store and opens the same data again, as a restart would. */
  reopen(): Promise<void>;
  /** Closes the store and removes its data. */
  close(): Promise<void>;
}

export interface Backend {
  name: string;
  /** Why this backend cannot run here (the suite skips it and says why), or null. */
  skip: string | null;
  open(): Promise<Harness>;
}

function sqliteHarness(dir: string, writer: 'thread' | 'inline'): Harness {
  // Each open is a start of the server on this data_dir, so it sweeps orphan bodies as serve does.
  const open = () => openStore({ dataDir: dir, writer, sweepOrphans: true, onFatal: (e) => { throw e; } });
  let closed = false;
  const h: Harness = {
    stores: open(),
    get store() {
      return h.stores.mailboxes;
    },
    async writeBlob(id, bytes) {
      const w = await h.stores.blobs.create(id);
      await w.write([Buffer.from(bytes)]);
      await w.commit();
    },
    readBlob: (id) => h.stores.blobs.read(id),
    sliceBlob: (id, start, end) => h.stores.blobs.slice(id, start, end),
    async reopen() {
      await h.stores.close();
      h.stores = open();
    },
    async close() {
      if (closed) return;
      closed = true;
      await h.stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

async function pgHarness(): Promise<Harness> {
  const db = await createTestDb();
  const open = () => openPostgresStore({ url: db.url, nodeId: 'test', sweepOrphans: true });
  let closed = false;
  let stores: Stores;
  try {
    stores = await open();
  } catch (e) {
    await dropTestDb(db.name);
    throw e;
  }
  const h: Harness = {
    stores,
    get store() {
      return h.stores.mailboxes;
    },
    async writeBlob(id, bytes) {
      const w = await h.stores.blobs.create(id);
      await w.write([Buffer.from(bytes)]);
      await w.commit();
    },
    readBlob: (id) => h.stores.blobs.read(id),
    sliceBlob: (id, start, end) => h.stores.blobs.slice(id, start, end),
    async reopen() {
      await h.stores.close();
      h.stores = await open();
    },
    async close() {
      if (closed) return;
      closed = true;
      await h.stores.close();
      await dropTestDb(db.name);
    },
  };
  return h;
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'correo-store-'));

export const backends: Backend[] = [
  { name: 'sqlite, writer thread', skip: null, open: async () => sqliteHarness(tempDir(), 'thread') },
  { name: 'sqlite, inline writer', skip: null, open: async () => sqliteHarness(tempDir(), 'inline') },
  { name: 'postgresql', skip: pgSkip, open: pgHarness },
];

/** Runs `fn` with a fresh store of `backend`, closed (and its data removed) afterwards. */
export async function withStore<T>(backend: Backend, fn: (h: Harness) => Promise<T>): Promise<T> {
  const h = await backend.open();
  try {
    return await fn(h);
  } finally {
    await h.close();
  }
}

let blobSeq = 0;
/** A fresh blob id ([A-Za-z0-9]+, like a queue id). */
export function blobId(): string {
  return `T${process.pid}X${(++blobSeq).toString(36).toUpperCase()}`;
}

export function message(subject: string, body = 'hello\r\n'): string {
  return `From: a@example.org\r\nTo: usr1@example.test\r\nSubject: ${subject}\r\n\r\n${body}`;
}

/** Writes a body and appends it to `mailboxId` as delivery does; returns the record. */
export async function deliver(h: Harness, mailboxId: number, subject: string, opts: { flags?: string[]; key?: string; body?: string; internalDate?: number } = {}) {
  const id = blobId();
  const bytes = Buffer.from(message(subject, opts.body));
  await h.writeBlob(id, bytes);
  const [r] = await h.store.appendMany([{
    mailboxId, blobId: id, size: bytes.length, internalDate: opts.internalDate ?? Date.now(), flags: opts.flags,
    idempotencyKey: opts.key, newBlob: { mime: null },
  }]);
  if (r instanceof Error) throw r;
  return r;
}

/** A user with the default folders, and their INBOX. */
export async function userWithInbox(h: Harness, address = 'usr1@example.test') {
  const user = await h.store.createUser(address, 'hash-of-' + address);
  const inbox = (await h.store.getMailbox(user.id, 'INBOX'))!;
  return { user, inbox };
}

/** Polls `fn` until it is true; for effects a store may apply shortly after its promise (blob collection). */
export async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!(await fn())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function blobGone(h: Harness, id: string): Promise<boolean> {
  return h.readBlob(id).then(() => false, () => true);
}
