import type { SpoolWriter } from '../queue/types.js';
import { Codes, reply, type Reply } from './codes.js';
import { fixupHeader, type FixupResult, type FixupRules } from './fixups.js';

const BLANK = Buffer.from('\r\n\r\n');

/**
 * A spool writer that holds back the header block (bounded by `maxHeader`), rewrites it with
 * the MSA fix-ups once the empty line that ends it has streamed by, then passes the body
 * through untouched. The message arrives here already CRLF-normalized (smtp/data.ts).
 */
export class FixupWriter implements SpoolWriter {
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** The last (up to 3) octets held: an end of header may straddle chunks. */
  private tail: Buffer = Buffer.alloc(0);
  private done = false;
  /** Set when the message must be refused at the end of DATA (header too large). */
  refusal: Reply | null = null;
  result: FixupResult | null = null;

  constructor(
    private readonly inner: SpoolWriter,
    private readonly rules: FixupRules,
    private readonly maxHeader: number,
    private readonly messageId: () => string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get id(): string {
    return this.inner.id;
  }

  get size(): number {
    return this.inner.size;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.done) {
      if (!this.refusal) await this.inner.write(chunk);
      return;
    }
    // Look for CRLF CRLF across the boundary with what is held (at most 3 octets back).
    const tail = this.tail;
    const joined = tail.length ? Buffer.concat([tail, chunk]) : chunk;
    // An empty header block: the message starts with its empty line.
    const at = this.heldBytes === 0 && chunk[0] === 13 && chunk[1] === 10 ? -2 : joined.indexOf(BLANK);
    if (at === -1) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      const t = Buffer.concat([tail, chunk]);
      this.tail = t.subarray(Math.max(0, t.length - 3));
      if (this.heldBytes > this.maxHeader) {
        this.done = true;
        this.held = [];
        // RFC 5321 4.2.2 552 / RFC 3463 X.3.4: too big for the system (here: its header).
        this.refusal = reply(Codes.MessageTooBig, `Message header exceeds ${this.maxHeader} octets`);
      }
      return;
    }
    // Split: header block (ending with its last CRLF) | the empty line and the body.
    const splitInChunk = at === -2 ? 0 : at - tail.length + 2;
    const all = Buffer.concat([...this.held, chunk.subarray(0, Math.max(0, splitInChunk))]);
    const header = splitInChunk < 0 ? all.subarray(0, all.length + splitInChunk) : all;
    const rest = splitInChunk < 0 ? Buffer.concat([all.subarray(all.length + splitInChunk), chunk]) : chunk.subarray(splitInChunk);
    await this.emitHeader(header);
    if (rest.length) await this.inner.write(rest);
  }

  private async emitHeader(header: Buffer): Promise<void> {
    this.done = true;
    this.held = [];
    this.result = fixupHeader(header.toString('latin1'), this.rules, this.now(), this.messageId);
    await this.inner.write(Buffer.from(this.result.header, 'latin1'));
  }

  /** The end of DATA: a message with no empty line is all header. */
  async finish(): Promise<void> {
    if (this.done) return;
    const header = Buffer.concat(this.held);
    // The last line may lack its CRLF only if the message was empty; the decoder ends lines with CRLF.
    await this.emitHeader(header);
  }

  commit(): Promise<void> {
    return this.inner.commit();
  }

  abort(): Promise<void> {
    this.held = [];
    return this.inner.abort();
  }

  addTrace(text: string): void {
    this.inner.addTrace?.(text);
  }
}
