import { mkdirSync, promises as fsp, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import type { DB } from '../store/db.js';
import type { Statement } from 'better-sqlite3';
import type { BlobStore } from '../store/blobs.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { Logger } from '../log/logger.js';
import { newQueueId } from './ids.js';
import { TemporaryFailure, type Intake, type MessageEnvelope, type SpoolWriter } from './types.js';

/** Bytes gathered before one write(2): few system calls, bounded memory per session. */
const FLUSH_AT = 256 * 1024;

function isDiskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * The intake side of the queue. A message's bytes go straight to its final blob file
 * (Return-Path, the front end's trace header, then the data), fsync'd at commit; then the
 * queue record is committed with others in one transaction. Only after both does the
 * front end hear that the message is safe.
 */
export class Spool implements Intake {
  constructor(
    private readonly db: DB,
    private readonly blobs: BlobStore,
    private readonly commits: GroupCommit,
    private readonly log: Logger,
    private readonly minFreeBytes: number,
    private readonly onQueued: (id: string) => void,
  ) {
    mkdirSync(blobs.dir, { recursive: true });
  }

  /** S5/DESIGN: a full disk is a 4xx before we take anything, not a half-written message. */
  private checkSpace(): void {
    if (!this.minFreeBytes) return;
    try {
      const s = statfsSync(this.blobs.dir);
      const free = s.bavail * s.bsize;
      if (free < this.minFreeBytes) {
        throw new TemporaryFailure(`only ${free} bytes free in ${this.blobs.dir} (minimum ${this.minFreeBytes})`, '4.3.1');
      }
    } catch (e) {
      if (e instanceof TemporaryFailure) throw e;
    }
  }

  async begin(envelope: MessageEnvelope, trace: string | ((id: string) => string)): Promise<SpoolWriter> {
    this.checkSpace();
    const id = newQueueId();
    let fh: FileHandle;
    try {
      fh = await fsp.open(await this.blobs.prepare(id), 'wx', 0o640);
    } catch (e) {
      throw new TemporaryFailure(`cannot create spool file: ${(e as Error).message}`, isDiskFull(e) ? '4.3.1' : '4.3.0');
    }
    // RFC 5321 4.4: the final delivery adds Return-Path; remote delivery skips this line.
    const returnPath = Buffer.from(`Return-Path: <${envelope.sender}>\r\n`);
    return new Writer(id, fh, this, envelope, [returnPath, Buffer.from(typeof trace === 'function' ? trace(id) : trace, 'utf8')], returnPath.length, this.blobs.path(id));
  }

  /**
   * Set by the server: delivers a just-recorded entry inside the same transaction when it
   * can (QueueManager.deliverAtCommit); returns what to announce after the commit.
   */
  atCommit: ((id: string, envelope: MessageEnvelope, size: number) => (() => void) | null) | null = null;

  private stmts: Record<'blob' | 'queue' | 'rcpt' | 'stat', Statement> | null = null;

  private statements() {
    return (this.stmts ??= {
      blob: this.db.prepare('INSERT INTO blobs (id, size) VALUES (?, ?)'),
      queue: this.db.prepare('INSERT INTO queue (id, blob_id, sender, envelope, size, trace_skip, created) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      rcpt: this.db.prepare('INSERT OR IGNORE INTO queue_rcpt (queue_id, rcpt, orcpt, notify) VALUES (?, ?, ?, ?)'),
      stat: this.db.prepare('INSERT INTO stats (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value'),
    });
  }

  /** Called by a Writer once its file is on disk: records the queue entry (group commit). */
  record(id: string, envelope: MessageEnvelope, size: number, traceSkip: number): Promise<void> {
    const st = this.statements();
    return this.commits.run(() => {
      st.blob.run(id, size);
      st.queue.run(id, id, envelope.sender, JSON.stringify(envelope), size, traceSkip, Date.now());
      for (const r of envelope.recipients) st.rcpt.run(id, r.address, r.original ?? null, r.notify?.join(',') ?? null);
      st.stat.run(`received.${envelope.via}.msgs`, 1);
      st.stat.run(`received.${envelope.via}.bytes`, size);
      return this.atCommit?.(id, envelope, size) ?? null;
    }).then((announce) => {
      this.log.info(id, `from=<${envelope.sender}>, size=${size}, nrcpt=${envelope.recipients.length}, via=${envelope.via}, client=${envelope.clientAddress}${envelope.authUser ? `, sasl_username=${envelope.authUser}` : ''}`);
      if (announce) announce();
      else this.onQueued(id);
    });
  }

  remove(id: string): Promise<void> {
    return this.blobs.remove(id);
  }
}

class Writer implements SpoolWriter {
  size = 0;
  private chunks: Buffer[];
  private buffered = 0;
  private done = false;
  /** Octets of Return-Path and the front end's trace, where addTrace() inserts. */
  private readonly headLength: number;
  private headWritten = false;
  /** Trace fields added after the head went to disk: the file is rewritten at commit. */
  private late: Buffer[] = [];

  constructor(
    readonly id: string,
    private readonly fh: FileHandle,
    private readonly spool: Spool,
    private readonly envelope: MessageEnvelope,
    head: Buffer[],
    private readonly traceSkip: number,
    private readonly path: string,
  ) {
    this.chunks = head;
    for (const c of head) {
      this.size += c.length;
      this.buffered += c.length;
    }
    this.headLength = this.size;
  }

  addTrace(text: string): void {
    if (this.done) throw new Error(`spool ${this.id}: addTrace after commit/abort`);
    const b = Buffer.from(text, 'utf8');
    if (!b.length) return;
    this.size += b.length;
    if (this.headWritten) {
      this.late.push(b);
      return;
    }
    // Still in memory (messages under FLUSH_AT never touch the disk before commit): insert after the head.
    let at = 0;
    for (let seen = 0; at < this.chunks.length && seen < this.headLength; at++) seen += this.chunks[at].length;
    this.chunks.splice(at, 0, b);
    this.buffered += b.length;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.done) throw new Error(`spool ${this.id}: write after commit/abort`);
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.buffered += chunk.length;
    if (this.buffered >= FLUSH_AT) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.chunks.length) return;
    const chunks = this.chunks;
    this.chunks = [];
    this.buffered = 0;
    this.headWritten = true;
    try {
      let { bytesWritten } = await this.fh.writev(chunks);
      const total = chunks.reduce((n, c) => n + c.length, 0);
      // writev may write less than asked (rare, e.g. near ENOSPC): finish the rest.
      if (bytesWritten < total) {
        const rest = Buffer.concat(chunks).subarray(bytesWritten);
        let off = 0;
        while (off < rest.length) {
          const r = await this.fh.write(rest, off);
          if (r.bytesWritten === 0) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
          off += r.bytesWritten;
        }
        bytesWritten = total;
      }
    } catch (e) {
      await this.abort();
      throw new TemporaryFailure(`spool ${this.id}: ${(e as Error).message}`, isDiskFull(e) ? '4.3.1' : '4.3.0');
    }
  }

  async commit(): Promise<void> {
    await this.flush();
    try {
      await this.fh.sync();
      await this.fh.close();
      if (this.late.length) await this.rewriteWithLateTrace();
    } catch (e) {
      await this.abort();
      throw new TemporaryFailure(`spool ${this.id}: fsync failed: ${(e as Error).message}`, isDiskFull(e) ? '4.3.1' : '4.3.0');
    }
    this.done = true;
    try {
      await this.spool.record(this.id, this.envelope, this.size, this.traceSkip);
    } catch (e) {
      await this.spool.remove(this.id).catch(() => undefined);
      throw new TemporaryFailure(`spool ${this.id}: queue record not written: ${(e as Error).message}`, isDiskFull(e) || /SQLITE_FULL/.test(String(e)) ? '4.3.1' : '4.3.0');
    }
  }

  /**
   * A large message whose head is already on disk: write head + late trace + the rest to a new
   * file, fsync it, rename it over the old one and fsync the directory. A crash before the
   * rename leaves the complete old file (no queue record yet either way).
   */
  private async rewriteWithLateTrace(): Promise<void> {
    const tmp = `${this.path}.t`;
    const src = await fsp.open(this.path, 'r');
    const dst = await fsp.open(tmp, 'w', 0o640);
    try {
      const buf = Buffer.alloc(Math.min(FLUSH_AT, Math.max(this.headLength, 1)));
      const head = Buffer.alloc(this.headLength);
      await src.read(head, 0, this.headLength, 0);
      await dst.writev([head, ...this.late]);
      for (let pos = this.headLength; ;) {
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
    this.late = [];
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.chunks = [];
    await this.fh.close().catch(() => undefined);
    await this.spool.remove(this.id).catch(() => undefined);
  }
}
