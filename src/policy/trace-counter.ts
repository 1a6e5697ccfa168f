/**
 * Counts the Received: fields of a message's header as it streams by (RFC 5321 6.3: a
 * message that has passed through too many hosts is in a loop). Only the header section is
 * looked at, up to the first empty line, and at most `limit` octets of it.
 */
export class TraceCounter {
  count = 0;
  private done = false;
  private seen = 0;
  /** The first octets of the current line (enough to recognise "Received:"). */
  private head = '';
  /** Octets of the current line so far, its LF not included. */
  private length = 0;

  constructor(private readonly limit = 1024 * 1024) {}

  push(chunk: Buffer): void {
    for (let i = 0; i < chunk.length && !this.done; i++) {
      if (++this.seen > this.limit) {
        this.done = true;
        return;
      }
      const b = chunk[i];
      if (b === 0x0a) {
        // An empty line ends the header section.
        if (this.length === 0 || (this.length === 1 && this.head === '\r')) this.done = true;
        this.head = '';
        this.length = 0;
        continue;
      }
      this.length++;
      if (this.head.length < 9) {
        this.head += String.fromCharCode(b);
        if (this.head.length === 9 && this.head.toLowerCase() === 'received:') this.count++;
      }
    }
  }
}
