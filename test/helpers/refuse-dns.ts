/**
 * A DNS server for tests that need no records: it answers every query REFUSED, exactly what a
 * dnsmasq without records or upstreams (`startDns()` before) answers, without needing dnsmasq.
 * Run as its own process (not in the test's process) so that a test blocked in a synchronous
 * call cannot delay an answer the server under test is waiting for.
 * Prints the UDP port it listens on (127.0.0.1), then serves until killed.
 */
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';

/** RFC 1035 4.1.1: the reply to `query` with QR set, RCODE 5 (Refused), its question kept. */
export function refused(query: Buffer): Buffer | null {
  if (query.length < 12) return null;
  let i = 12;
  const qdcount = query.readUInt16BE(4);
  if (qdcount === 1) {
    while (i < query.length && query[i] !== 0) i += 1 + query[i]!;
    i += 5; // the root label, QTYPE, QCLASS
  }
  const question = qdcount === 1 && i <= query.length ? query.subarray(12, i) : Buffer.alloc(0);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR=1, the query's opcode and RD, RA=1, RCODE=5 (or 1, format error, for a bad question).
  const flags = 0x8000 | (query.readUInt16BE(2) & 0x7900) | 0x0080 | (question.length ? 5 : 1);
  head.writeUInt16BE(flags, 2);
  head.writeUInt16BE(question.length ? 1 : 0, 4);
  return Buffer.concat([head, question]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = createSocket('udp4');
  s.on('message', (msg, rinfo) => {
    const reply = refused(msg);
    if (reply) s.send(reply, rinfo.port, rinfo.address);
  });
  s.bind(0, '127.0.0.1', () => process.stdout.write(`${s.address().port}\n`));
  // Ends with its parent: a test process that dies cannot leave this one behind.
  process.stdin.on('end', () => process.exit(0)).resume();
}
