import { Worker } from 'node:worker_threads';
import type { WriteBatch } from '../batch.js';
import type { AppliedBatch } from './apply.js';
import type { Writer } from './writer.js';
import type { WriterReply, WriterRequest } from './writer-worker.js';
import { decode } from '../wire.js';

/**
 * The main thread's end of the writer thread (writer-worker.ts). The event loop never waits
 * for a commit: it posts the batch and goes on serving sessions; the promise settles when the
 * writer says the batch is on disk.
 *
 * The thread dying (an uncaught error, an exit) is a crash, never a silent stall: every
 * waiting batch fails and `onFatal` is told why (the server logs it and exits non-zero; a
 * restart re-runs the queue, and idempotency keys prevent duplicate deliveries).
 */
export class ThreadWriter implements Writer {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (r: AppliedBatch) => void; reject: (e: Error) => void }>();
  private next = 1;
  private dead: Error | null = null;
  private closing: Promise<void> | null = null;
  private closed: (() => void) | null = null;

  constructor(dataDir: string, private readonly onFatal: (e: Error) => void) {
    this.worker = new Worker(new URL('./writer-worker.js', import.meta.url), { workerData: { dataDir } });
    this.worker.on('message', (m: WriterReply) => this.reply(m));
    this.worker.on('error', (e) => this.die(new Error(`store writer thread failed: ${e.stack ?? e.message}`)));
    this.worker.on('exit', (code) => {
      if (this.closed) this.closed();
      else this.die(new Error(`store writer thread exited (code ${code}) while the store was open`));
    });
  }

  submit(batch: WriteBatch): Promise<AppliedBatch> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.closing) return Promise.reject(new Error('the store is closed'));
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, batch } satisfies WriterRequest);
    });
  }

  private reply(m: WriterReply): void {
    if ('closed' in m) return;
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    if ('error' in m) w.reject(decode(m.error) as Error);
    else w.resolve(decode(m.result) as AppliedBatch);
  }

  private die(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    this.onFatal(e);
  }

  close(): Promise<void> {
    if (this.dead) return Promise.resolve();
    this.closing ??= new Promise<void>((resolve) => {
      this.closed = resolve;
      this.worker.postMessage({ close: true });
    });
    return this.closing;
  }
}
