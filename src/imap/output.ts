import type { Writable } from 'node:stream';
import type { Piece } from './writer.js';

/**
 * Buffers response bytes and writes them in large pieces, waiting for the peer when the
 * socket's buffer is full, so that a FETCH of thousands of messages neither makes thousands
 * of small writes nor holds the whole answer in memory.
 */
export class Output {
  private parts: Buffer[] = [];
  private size = 0;
  /** Called after each flush (COMPRESS=DEFLATE flushes its compressor there). */
  onFlush: (() => void) | null = null;

  constructor(public stream: Writable) {}

  push(p: Piece): void {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    if (!b.length) return;
    this.parts.push(b);
    this.size += b.length;
  }

  pushAll(ps: Piece[]): void {
    for (const p of ps) this.push(p);
  }

  /** Writes what is buffered when it is large (or always with `force`); resolves once the socket can take more. */
  async flush(force = true): Promise<void> {
    if (!this.size || (!force && this.size < 65536)) return;
    const data = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    if (this.stream.destroyed || this.stream.writableEnded) return;
    const ok = this.stream.write(data);
    this.onFlush?.();
    if (!ok) await this.drained();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        this.stream.off('error', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
      this.stream.on('error', done);
    });
  }
}
