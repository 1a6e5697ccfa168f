import type { BlobStore, BlobWriter } from '../store/blobs.js';
import type { QueueStore } from '../store/queue.js';
import type { QueueSignal } from '../store/notify.js';
import type { BatchPart } from '../store/batch.js';
import type { Logger } from '../log/logger.js';
import type { FastPath } from './fast-path.js';
import { newQueueId } from './ids.js';
import { TemporaryFailure, type Intake, type MessageEnvelope, type SpoolWriter } from './types.js';

/** Bytes gathered before one write(2): few system calls, bounded memory per session. */
const FLUSH_AT = 256 * 1024;

function isDiskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export interface SpoolOptions {
  queue: QueueStore;
  blobs: BlobStore;
  signal: QueueSignal;
  log: Logger;
  /** S5: below this many free octets, mail is refused with a 4xx. 0: no check. */
  minFreeBytes: number;
  /** Delivers all-local mail in the commit that records it; null: everything waits for the queue run. */
  fastPath: FastPath | null;
}

/**
 * The intake side of the queue. A message's bytes go straight to its body (Return-Path, the
 * front end's trace header, then the data), fsync'd at commit; then the queue record is
 * committed, with others (group commit). Only after both does the front end hear that the
 * message is safe.
 */
export class Spool implements Intake {
  constructor(private readonly o: SpoolOptions) {}

  /** S5/DESIGN: a full disk is a 4xx before we take anything, not a half-written message. */
  private checkSpace(): void {
    if (!this.o.minFreeBytes) return;
    const free = this.o.blobs.freeBytes();
    if (free !== null && free < this.o.minFreeBytes) {
      throw new TemporaryFailure(`only ${free} bytes free for message bodies (minimum ${this.o.minFreeBytes})`, '4.3.1');
    }
  }

  async begin(envelope: MessageEnvelope, trace: string | ((id: string) => string)): Promise<SpoolWriter> {
    this.checkSpace();
    const id = newQueueId();
    let blob: BlobWriter;
    try {
      blob = await this.o.blobs.create(id);
    } catch (e) {
      throw new TemporaryFailure(`cannot create spool file: ${(e as Error).message}`, isDiskFull(e) ? '4.3.1' : '4.3.0');
    }
    // RFC 5321 4.4: the final delivery adds Return-Path; remote delivery skips this line.
    const returnPath = Buffer.from(`Return-Path: <${envelope.sender}>\r\n`);
    return new Writer(blob, this, envelope, [returnPath, Buffer.from(typeof trace === 'function' ? trace(id) : trace, 'utf8')], returnPath.length);
  }

  /**
   * Called by a Writer once its body is on disk: records the queue entry, and in the same
   * commit delivers it when the fast path can (a part of its own: a failing delivery, over
   * quota, leaves the entry for the queue run).
   */
  async record(id: string, envelope: MessageEnvelope, size: number, traceSkip: number): Promise<void> {
    const intake: BatchPart = {
      ops: [{
        op: 'queue.insert', id, sender: envelope.sender, envelope: JSON.stringify(envelope), via: envelope.via, size, traceSkip, created: Date.now(),
        recipients: envelope.recipients.map((r) => ({ rcpt: r.address, orcpt: r.original ?? null, notify: r.notify?.join(',') ?? null })),
      }],
    };
    const plan = this.o.fastPath ? await this.o.fastPath.plan(id, envelope, size) : null;
    const r = await this.o.queue.commit({ durability: 'full', parts: plan ? [intake, { ops: plan.ops, mayFail: true }] : [intake] });
    if (!r.parts[0].ok) throw r.parts[0].error;
    this.o.log.info(id, `from=<${envelope.sender}>, size=${size}, nrcpt=${envelope.recipients.length}, via=${envelope.via}, client=${envelope.clientAddress}${envelope.authUser ? `, sasl_username=${envelope.authUser}` : ''}`);
    const delivered = plan && r.parts[1].ok ? r.parts[1].results : null;
    if (plan && delivered) plan.announce(delivered);
    else this.o.signal.wake('local');
  }

  remove(id: string): Promise<void> {
    return this.o.blobs.remove(id);
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
  /** Trace fields added after the head went to disk: inserted at commit. */
  private late: Buffer[] = [];

  constructor(
    private readonly blob: BlobWriter,
    private readonly spool: Spool,
    private readonly envelope: MessageEnvelope,
    head: Buffer[],
    private readonly traceSkip: number,
  ) {
    this.chunks = head;
    for (const c of head) {
      this.size += c.length;
      this.buffered += c.length;
    }
    this.headLength = this.size;
  }

  get id(): string {
    return this.blob.id;
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
      await this.blob.write(chunks);
    } catch (e) {
      await this.abort();
      throw new TemporaryFailure(`spool ${this.id}: ${(e as Error).message}`, isDiskFull(e) ? '4.3.1' : '4.3.0');
    }
  }

  async commit(): Promise<void> {
    await this.flush();
    try {
      await this.blob.commit(this.late.length ? { at: this.headLength, bytes: this.late } : undefined);
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

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.chunks = [];
    await this.blob.abort();
  }
}
