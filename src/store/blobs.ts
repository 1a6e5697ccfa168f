import { closeSync, createReadStream, fdatasync, mkdirSync, openSync, promises as fsp, readFileSync, statfsSync, writev, writevSync } from 'node:fs';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

/**
 * Message bodies, one per accepted message, shared by every mailbox copy of it (DESIGN.md).
 * Callers never see where or how a body is kept: they write through a BlobWriter and read
 * ranges, so that another backend (object storage, a shared volume) can stand behind it.
 * Ids are [A-Za-z0-9]+ (the queue id of the message).
 */
export interface BlobStore {
  /**
   * Starts a new body. No record refers to it until the caller commits one after commit(), so
   * no mailbox or queue shows it before; its bytes may be readable by id meanwhile (FsBlobStore
   * writes in place), and a crash leaves a file that the server's orphan sweep removes.
   */
  create(id: string): Promise<BlobWriter>;
  /** The whole body; `sizeHint` (its size, when known) lets an implementation pick the fastest way. */
  read(id: string, sizeHint?: number): Promise<Buffer>;
  /** Bytes [start, end) of a body (fewer when it is shorter). */
  slice(id: string, start: number, end: number): Promise<Buffer>;
  /** A stream of bytes [start, end) (end exclusive; omitted = to the end). */
  stream(id: string, start?: number, end?: number): Readable;
  remove(id: string): Promise<void>;
  /** Octets free where bodies are written, null when unknown (the queue refuses mail below a minimum). */
  freeBytes(): number | null;
}

export interface BlobWriter {
  readonly id: string;
  /** Appends the chunks (back-pressure: the promise settles when they are written). */
  write(chunks: Buffer[]): Promise<void>;
  /**
   * Makes the body durable (fsync) and complete. `insert` puts more bytes at offset `at` of
   * what was written (trace fields known only at the end of DATA, after the head went out).
   */
  commit(insert?: { at: number; bytes: Buffer[] }): Promise<void>;
  /** Drops the body; safe after a failure and twice. */
  abort(): Promise<void>;
}

/**
 * Bodies as files: data_dir/blobs/XY/ID where XY is the id's last two characters, so that no
 * directory grows past a few thousand entries.
 */
export class FsBlobStore implements BlobStore {
  private readonly made = new Set<string>();
  /** While sweepOrphans() runs: the ids this process created meanwhile, which it must not touch. */
  private fresh: Set<string> | null = null;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private path(id: string): string {
    if (!/^[A-Za-z0-9]+$/.test(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
    return join(this.dir, id.slice(-2), id);
  }

  /**
   * The file is created with one synchronous open(2) (a directory operation served from memory;
   * the promise API would cost a thread-pool round trip per call, on every message), and its
   * directory once per process.
   */
  async create(id: string): Promise<BlobWriter> {
    const p = this.path(id);
    this.fresh?.add(id);
    const sub = id.slice(-2);
    if (!this.made.has(sub)) {
      mkdirSync(join(this.dir, sub), { recursive: true });
      this.made.add(sub);
    }
    return new FileWriter(id, p, openSync(p, 'wx', 0o640));
  }

  /**
   * Small bodies (nearly all mail) are read synchronously: from the page cache that is one
   * system call sequence of a few microseconds, where the promise API costs four round trips
   * through libuv's thread pool (open, fstat, read, close). Large ones keep the event loop free.
   */
  read(id: string, sizeHint?: number): Promise<Buffer> {
    if (sizeHint !== undefined && sizeHint <= SYNC_READ_MAX) {
      try {
        return Promise.resolve(readFileSync(this.path(id)));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return fsp.readFile(this.path(id));
  }

  async slice(id: string, start: number, end: number): Promise<Buffer> {
    const fh = await fsp.open(this.path(id), 'r');
    try {
      const buf = Buffer.alloc(Math.max(0, end - start));
      let off = 0;
      while (off < buf.length) {
        const { bytesRead } = await fh.read(buf, off, buf.length - off, start + off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      return off === buf.length ? buf : buf.subarray(0, off);
    } finally {
      await fh.close();
    }
  }

  stream(id: string, start = 0, end?: number): Readable {
    return createReadStream(this.path(id), { start, end: end === undefined ? undefined : end - 1 });
  }

  async remove(id: string): Promise<void> {
    await fsp.rm(this.path(id), { force: true });
  }

  /**
   * Removes the body files no record refers to: a crash between writing a body and committing
   * its queue entry leaves one (the spool writes the file first, then the record). `referenced`
   * answers, for the ids of one directory, those that a record holds. Files this process
   * creates while the sweep runs are never touched, so the server can take mail meanwhile;
   * but only the process that owns the data_dir may sweep (the server, not a CLI command
   * beside it, whose bodies in progress it could not tell from orphans). Returns how many went.
   */
  async sweepOrphans(referenced: (ids: string[]) => Set<string>): Promise<number> {
    this.fresh = new Set();
    let removed = 0;
    try {
      for (const sub of await fsp.readdir(this.dir)) {
        if (!/^[A-Za-z0-9]{1,2}$/.test(sub)) continue;
        const ids = (await fsp.readdir(join(this.dir, sub))).filter((n) => /^[A-Za-z0-9]+$/.test(n));
        const held = referenced(ids);
        for (const id of ids) {
          if (held.has(id) || this.fresh.has(id)) continue;
          await fsp.rm(join(this.dir, sub, id), { force: true });
          removed++;
        }
      }
    } finally {
      this.fresh = null;
    }
    return removed;
  }

  freeBytes(): number | null {
    try {
      const s = statfsSync(this.dir);
      return s.bavail * s.bsize;
    } catch {
      return null;
    }
  }
}

const COPY_CHUNK = 256 * 1024;
/** Bodies up to this size are read in one synchronous call (no thread-pool round trips). */
const SYNC_READ_MAX = 256 * 1024;
/** Writes up to this size go to the page cache synchronously (microseconds, no thread-pool round trip). */
const SYNC_WRITE_MAX = 256 * 1024;

const writevAsync = promisify(writev);
const fdatasyncAsync = promisify(fdatasync);

/**
 * One body being written, on a plain descriptor: open, write and close are synchronous (they
 * touch only the page cache), and the one call that waits for the disk, fdatasync(2), runs on
 * the thread pool. fdatasync is enough: it flushes the data and the metadata needed to read it
 * back, the file size included (POSIX; Linux fdatasync(2)), and skips only timestamps. The new
 * directory entry is made durable with it on ext4 and XFS (the create is in the same journal
 * transaction that the size change forces out), as it was with fsync before.
 */
class FileWriter implements BlobWriter {
  private done = false;
  private written = 0;

  constructor(readonly id: string, private readonly path: string, private readonly fd: number) {}

  async write(chunks: Buffer[]): Promise<void> {
    const total = chunks.reduce((n, c) => n + c.length, 0);
    let bytesWritten = total <= SYNC_WRITE_MAX ? writevSync(this.fd, chunks) : (await writevAsync(this.fd, chunks)).bytesWritten;
    // writev may write less than asked (rare, e.g. near ENOSPC): finish the rest.
    if (bytesWritten < total) {
      const rest = Buffer.concat(chunks).subarray(bytesWritten);
      for (let off = 0; off < rest.length;) {
        const n = writevSync(this.fd, [rest.subarray(off)]);
        if (n === 0) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
        off += n;
      }
      bytesWritten = total;
    }
    this.written += bytesWritten;
  }

  async commit(insert?: { at: number; bytes: Buffer[] }): Promise<void> {
    await fdatasyncAsync(this.fd);
    this.done = true;
    closeSync(this.fd);
    if (insert && insert.bytes.length) await this.rewriteWith(insert.at, insert.bytes);
  }

  /**
   * Bytes to insert into a file already written: write head + insert + the rest to a new file,
   * fsync it, rename it over the old one and fsync the directory. A crash before the rename
   * leaves the complete old file (and no queue record points at either yet).
   */
  private async rewriteWith(at: number, bytes: Buffer[]): Promise<void> {
    const tmp = `${this.path}.t`;
    const src = await fsp.open(this.path, 'r');
    const dst = await fsp.open(tmp, 'w', 0o640);
    try {
      const head = Buffer.alloc(at);
      await src.read(head, 0, at, 0);
      await dst.writev([head, ...bytes]);
      const buf = Buffer.alloc(COPY_CHUNK);
      for (let pos = at; ;) {
        const { bytesRead } = await src.read(buf, 0, buf.length, pos);
        if (!bytesRead) break;
        await dst.write(buf, 0, bytesRead);
        pos += bytesRead;
      }
      await dst.sync();
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    } finally {
      await src.close();
      await dst.close();
    }
    await fsp.rename(tmp, this.path);
    const dir = await fsp.open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      try {
        closeSync(this.fd);
      } catch {
        // already gone: nothing to release
      }
    }
    await fsp.rm(this.path, { force: true }).catch(() => undefined);
  }
}
