import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import { generate } from 'selfsigned';

/**
 * A small capturing SMTP server playing "a remote MX" or "a smart host" in outbound tests.
 * It listens on its own 127.0.x.y (never 127.0.0.1, which is the Correo under test) on a port
 * from the OS, records every transaction (envelope, parameters, the message as decoded and
 * the raw octets on the wire), and answers as told: a reply per recipient, a 4xx for the
 * first N transactions, STARTTLS, AUTH PLAIN/LOGIN.
 */

export interface SinkMessage {
  helo: string;
  tls: boolean;
  auth: string | null;
  from: string;
  mailParams: string;
  rcpts: { address: string; params: string }[];
  /** The message after undoing dot-stuffing. */
  data: Buffer;
  /** The octets between "354" and the final "." line, as sent. */
  raw: Buffer;
}

export interface SinkOptions {
  /** Default: a random 127.0.x.y. */
  host?: string;
  /** A reply for a recipient ("550 5.1.1 no such user"), or null for 250. */
  rcptReply?: (address: string, transaction: number) => string | null;
  /** The reply after the data of transaction n (1-based), or null for 250. */
  dataReply?: (n: number, msg: SinkMessage) => string | null;
  /** EHLO keywords; default PIPELINING 8BITMIME SMTPUTF8 DSN ENHANCEDSTATUSCODES SIZE 10485760. */
  extensions?: string[];
  /** Offer STARTTLS with a self-signed certificate. */
  tls?: boolean;
  /** Offer AUTH PLAIN LOGIN and require it before MAIL. */
  auth?: { user: string; password: string };
  greeting?: string;
  /** Answer EHLO with 502 (a HELO-only server). */
  noEhlo?: boolean;
  /** Milliseconds to wait before answering the end of data (a slow server). */
  dataDelayMs?: number;
}

export interface Sink {
  host: string;
  port: number;
  messages: SinkMessage[];
  /** Connections accepted. */
  connections: number;
  /** Most connections open at the same time. */
  maxOpen: number;
  /** Every line the clients sent (commands only), for protocol assertions. */
  commands: string[];
  waitFor(n: number, timeoutMs?: number): Promise<SinkMessage[]>;
  close(): Promise<void>;
}

export function randomLoopback(): string {
  const b = () => 1 + Math.floor(Math.random() * 253);
  return `127.0.${b()}.${b()}`;
}

let certCache: Promise<SecureContext> | null = null;
function sinkTls(): Promise<SecureContext> {
  certCache ??= (async () => {
    const pems = await generate([{ name: 'commonName', value: 'sink.test' }], { keySize: 2048, algorithm: 'sha256' } as Parameters<typeof generate>[1]);
    return createSecureContext({ key: pems.private, cert: pems.cert });
  })();
  return certCache;
}

export async function startSink(opts: SinkOptions = {}): Promise<Sink> {
  const secure = opts.tls ? await sinkTls() : null;
  const messages: SinkMessage[] = [];
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  let transactions = 0;
  const waiters: (() => void)[] = [];
  const sink = { connections: 0, maxOpen: 0 } as Sink;

  const session = (socket: Socket) => {
    sockets.add(socket);
    sink.connections++;
    sink.maxOpen = Math.max(sink.maxOpen, sockets.size);
    let sock: Socket = socket;
    let buf = Buffer.alloc(0);
    let helo = '';
    let tls = false;
    let auth: string | null = null;
    let tx: Omit<SinkMessage, 'data' | 'raw'> | null = null;
    let inData = false;
    let authStep: null | { mech: 'LOGIN'; user?: string } = null;
    const send = (l: string) => sock.write(l + '\r\n');
    const ext = opts.extensions ?? ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'DSN', 'ENHANCEDSTATUSCODES', 'SIZE 10485760'];

    const checkAuth = (user: string, pass: string) => {
      if (opts.auth && user === opts.auth.user && pass === opts.auth.password) {
        auth = user;
        send('235 2.7.0 Authentication successful');
      } else send('535 5.7.8 Authentication credentials invalid');
    };

    const finishData = (raw: Buffer) => {
      // Undo RFC 5321 4.5.2 transparency on CRLF-separated lines.
      const lines = raw.toString('latin1').split('\r\n');
      const data = Buffer.from(lines.map((l) => (l.startsWith('.') ? l.slice(1) : l)).join('\r\n'), 'latin1');
      const msg: SinkMessage = { ...tx!, data, raw };
      transactions++;
      const r = opts.dataReply?.(transactions, msg) ?? null;
      const n = transactions;
      tx = null;
      const answer = () => {
        if (r && !r.startsWith('2')) send(r);
        else {
          messages.push(msg);
          send(r ?? `250 2.0.0 Ok: queued as SINK${n}`);
          for (const w of waiters.splice(0)) w();
        }
      };
      if (opts.dataDelayMs) setTimeout(answer, opts.dataDelayMs);
      else answer();
    };

    const line = (l: string) => {
      commands.push(l);
      if (authStep) {
        const v = Buffer.from(l, 'base64').toString();
        if (authStep.user === undefined) {
          authStep.user = v;
          send('334 UGFzc3dvcmQ6');
        } else {
          const user = authStep.user;
          authStep = null;
          checkAuth(user, v);
        }
        return;
      }
      const [verb, ...rest] = l.split(' ');
      const arg = rest.join(' ');
      switch (verb.toUpperCase()) {
        case 'EHLO':
          if (opts.noEhlo) return send('502 5.5.1 EHLO not implemented');
          helo = arg;
          return send(['sink.test hello', ...ext, ...(secure && !tls ? ['STARTTLS'] : []), ...(opts.auth ? ['AUTH PLAIN LOGIN'] : [])].map((e, i, a) => `250${i === a.length - 1 ? ' ' : '-'}${e}`).join('\r\n'));
        case 'HELO':
          helo = arg;
          return send('250 sink.test');
        case 'STARTTLS': {
          if (!secure || tls) return send('502 5.5.1 no');
          send('220 2.0.0 go ahead');
          sock.removeListener('data', onData);
          const t = new TLSSocket(socket, { isServer: true, secureContext: secure });
          sock = t;
          tls = true;
          helo = '';
          buf = Buffer.alloc(0);
          t.on('data', onData);
          t.on('error', () => socket.destroy());
          return;
        }
        case 'AUTH': {
          const [mech, initial] = rest;
          if (!opts.auth) return send('502 5.5.1 no AUTH here');
          if (mech?.toUpperCase() === 'PLAIN' && initial) {
            const [, u, p] = Buffer.from(initial, 'base64').toString().split('\0');
            return checkAuth(u, p);
          }
          if (mech?.toUpperCase() === 'LOGIN') {
            authStep = { mech: 'LOGIN' };
            return send('334 VXNlcm5hbWU6');
          }
          return send('504 5.5.4 mechanism not supported');
        }
        case 'MAIL': {
          if (opts.auth && !auth) return send('530 5.7.0 Authentication required');
          const m = /^FROM:<([^>]*)>\s*(.*)$/i.exec(arg);
          if (!m) return send('501 5.5.4 syntax');
          tx = { helo, tls, auth, from: m[1], mailParams: m[2], rcpts: [] };
          return send('250 2.1.0 Ok');
        }
        case 'RCPT': {
          if (!tx) return send('503 5.5.1 MAIL first');
          const m = /^TO:<([^>]*)>\s*(.*)$/i.exec(arg);
          if (!m) return send('501 5.5.4 syntax');
          const r = opts.rcptReply?.(m[1], transactions + 1) ?? null;
          if (r) return send(r);
          tx.rcpts.push({ address: m[1], params: m[2] });
          return send('250 2.1.5 Ok');
        }
        case 'DATA':
          if (!tx || !tx.rcpts.length) return send('554 5.5.1 no valid recipients');
          inData = true;
          return send('354 End data with <CR><LF>.<CR><LF>');
        case 'RSET':
          tx = null;
          return send('250 2.0.0 Ok');
        case 'NOOP':
          return send('250 2.0.0 Ok');
        case 'QUIT':
          send('221 2.0.0 Bye');
          return sock.end();
        default:
          return send('502 5.5.2 unknown command');
      }
    };

    function onData(d: Buffer) {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          const atStart = buf.subarray(0, 3).toString('latin1') === '.\r\n';
          if (!atStart && end < 0) return;
          const raw = atStart ? Buffer.alloc(0) : buf.subarray(0, end + 2);
          buf = buf.subarray(atStart ? 3 : end + 5);
          inData = false;
          finishData(raw);
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const l = buf.subarray(0, nl).toString('utf8');
        buf = buf.subarray(nl + 2);
        line(l);
      }
    }

    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    send(opts.greeting ?? '220 sink.test ESMTP test sink');
  };

  const server: Server = createServer(session);
  const host = opts.host ?? randomLoopback();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  Object.assign(sink, {
    host,
    port: (server.address() as { port: number }).port,
    messages,
    commands,
    async waitFor(n: number, timeoutMs = 30_000) {
      const start = Date.now();
      while (messages.length < n) {
        if (Date.now() - start > timeoutMs) throw new Error(`sink ${host}: ${messages.length} of ${n} messages after ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
      return messages;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
  return sink;
}
