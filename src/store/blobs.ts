import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/**
 * Message bodies, one file each, shared by every mailbox copy of one message (DESIGN.md).
 * Files live in data_dir/blobs/XY/ID where XY is the id's last two characters, so that no
 * directory grows past a few thousand entries.
 */
export class BlobStore {
  constructor(readonly dir: string) {}

  path(id: string): string {
    if (!/^[A-Za-z0-9]+$/.test(id)) throw new Error(`invalid blob id ${JSON.stringify(id)}`);
    return join(this.dir, id.slice(-2), id);
  }

  /** The directory a new blob's file goes in, created if missing. */
  async prepare(id: string): Promise<string> {
    const p = this.path(id);
    const sub = id.slice(-2);
    // One mkdir per directory per process, not one per message (a system call saved each time).
    if (!this.made.has(sub)) {
      await fsp.mkdir(join(this.dir, sub), { recursive: true });
      this.made.add(sub);
    }
    return p;
  }

  private readonly made = new Set<string>();

  read(id: string): Promise<Buffer> {
    return fsp.readFile(this.path(id));
  }

  /** Bytes [start, end) of a blob. */
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

  /** A stream of bytes [start, end) (end exclusive; omitted = to the end). */
  stream(id: string, start = 0, end?: number): Readable {
    return createReadStream(this.path(id), { start, end: end === undefined ? undefined : end - 1 });
  }

  async remove(id: string): Promise<void> {
    await fsp.rm(this.path(id), { force: true });
  }
}
