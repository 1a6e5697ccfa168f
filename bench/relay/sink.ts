/**
 * The relay benchmark's "remote MX": a minimal SMTP server that accepts every transaction and
 * counts it. It runs as its own process (forked by run.ts), so its CPU is neither the load
 * generator's nor the server's under test.
 *
 * Protocol: RFC 5321 reduced to what an MTA sends to an MX: EHLO/HELO, MAIL, RCPT, DATA, RSET,
 * NOOP, QUIT, with PIPELINING (replies go out in command order; a batch of replies is one write).
 * No STARTTLS, so both servers' opportunistic TLS falls back to plaintext the same way.
 *
 * IPC with the parent:
 *   child -> parent  { listening: port }
 *   parent -> child  { waitFor: n }      child -> parent { reached: n, at: "<hrtime ns>" }
 *   parent -> child  { count: true }     child -> parent { messages: n, recipients: n, connections: n }
 * `at` is process.hrtime.bigint() of the 250 that completed the n-th message: CLOCK_MONOTONIC,
 * the same clock in every process on the machine, so the parent compares it with its own start.
 */
import { createServer, type Socket } from 'node:net';

const host = process.argv[2] ?? '127.0.0.2';

let messages = 0;
let recipients = 0;
let connections = 0;
const waits: { n: number }[] = [];

function delivered(): void {
  messages++;
  check();
}

function check(): void {
  for (let i = waits.length - 1; i >= 0; i--) {
    if (messages >= waits[i].n) {
      const at = process.hrtime.bigint().toString();
      process.send!({ reached: waits[i].n, at });
      waits.splice(i, 1);
    }
  }
}

const END_OF_DATA = Buffer.from('\r\n.\r\n');
const EHLO_REPLY = '250-sink.relay.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE 52428800\r\n';

function session(socket: Socket): void {
  connections++;
  socket.setNoDelay(true);
  let buf: Buffer = Buffer.alloc(0);
  let inData = false;
  let rcpts = 0;
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let out = '';
    let pos = 0;
    for (;;) {
      if (inData) {
        // RFC 5321 4.1.1.4: the data ends at CRLF . CRLF; DATA's 354 came right after a CRLF,
        // so a message ending on its first line is ".\r\n" at `pos`.
        let end: number;
        if (buf[pos] === 0x2e && buf[pos + 1] === 0x0d && buf[pos + 2] === 0x0a) end = pos - 2;
        else {
          end = buf.indexOf(END_OF_DATA, pos);
          if (end < 0) break;
        }
        pos = end + 5;
        inData = false;
        recipients += rcpts;
        rcpts = 0;
        delivered();
        out += '250 2.0.0 Ok: queued\r\n';
        continue;
      }
      const nl = buf.indexOf(10, pos);
      if (nl < 0) break;
      const verb = buf.toString('latin1', pos, Math.min(pos + 4, nl)).toUpperCase();
      pos = nl + 1;
      switch (verb) {
        case 'EHLO': out += EHLO_REPLY; break;
        case 'HELO': out += '250 sink.relay.test\r\n'; break;
        case 'MAIL': rcpts = 0; out += '250 2.1.0 Ok\r\n'; break;
        case 'RCPT': rcpts++; out += '250 2.1.5 Ok\r\n'; break;
        case 'DATA':
          if (rcpts === 0) out += '554 5.5.1 Error: no valid recipients\r\n';
          else { inData = true; out += '354 End data with <CR><LF>.<CR><LF>\r\n'; }
          break;
        case 'RSET': rcpts = 0; out += '250 2.0.0 Ok\r\n'; break;
        case 'NOOP': out += '250 2.0.0 Ok\r\n'; break;
        case 'QUIT':
          socket.end(out + '221 2.0.0 Bye\r\n');
          buf = Buffer.alloc(0);
          return;
        default: out += '502 5.5.2 Error: command not recognized\r\n';
      }
    }
    buf = pos >= buf.length ? Buffer.alloc(0) : buf.subarray(pos);
    if (out) socket.write(out);
  });
  socket.write('220 sink.relay.test ESMTP\r\n');
}

const server = createServer(session);
server.listen(0, host, () => {
  process.send!({ listening: (server.address() as { port: number }).port });
});
server.on('error', (e) => {
  console.error(`sink: ${e.message}`);
  process.exit(1);
});
process.on('message', (m: { waitFor?: number; count?: boolean }) => {
  if (m.count) process.send!({ messages, recipients, connections });
  if (m.waitFor !== undefined) {
    waits.push({ n: m.waitFor });
    check();
  }
});
// The parent going away (even by SIGKILL) closes the IPC channel: nothing is left behind.
process.on('disconnect', () => process.exit(0));
