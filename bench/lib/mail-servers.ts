/**
 * The mailbox-access servers of the IMAP and POP3 benches, started the same way for both
 * benches: Correo (`correo serve`) and a private Dovecot, each with `users` users sharing one
 * password, plaintext login allowed on loopback, the listeners asked for.
 */
import { freeTcpPort } from '../../test/helpers/ports.js';
import { launchCorreo } from './correo.js';
import { startDovecot } from './dovecot.js';

export const PASSWORD = 'bench-pass-1';
export const user = (i: number) => `bench${i}@example.test`;

export interface MailTarget {
  name: 'correo' | 'dovecot';
  imapPort: number;
  pop3Port: number;
  /** The root of the server's process tree (Dovecot: the master; Correo: its one process). */
  pid: () => number;
  stop(): Promise<void>;
  /** Stops and starts the server on the same data (memory measured from a fresh process). */
  restart(): Promise<void>;
}

export interface MailSetup {
  dir: string;
  users: number;
  /** Needed for filling the mailboxes by APPEND even when the bench itself speaks POP3. */
  imap: boolean;
  pop3: boolean;
  /** Node flags for Correo (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Correo only: runs on its data dir after the users exist, before the first start. */
  prepare?: (dataDir: string) => Promise<void>;
}

/**
 * Correo with IMAP and/or POP3 on 127.0.0.1. Its per-address and per-user connection limits
 * ([imap] max_connections_per_address 20000, max_sessions_per_user 1000: the defaults, written
 * out) admit the IDLE bench's 10,000 sessions from 127.0.0.1 over 20 users.
 */
export async function startCorreoMail(s: MailSetup): Promise<MailTarget> {
  const services = [...(s.imap ? (['imap'] as const) : []), ...(s.pop3 ? (['pop3'] as const) : [])];
  const p = await launchCorreo({
    dir: s.dir, host: '127.0.0.1', hostname: 'mail.bench.test', domains: ['example.test'], services: [...services],
    logLevel: Number(process.env.BENCH_CORREO_LOG_LEVEL ?? 5), nodeFlags: s.nodeFlags, prepare: s.prepare,
    users: Array.from({ length: s.users }, (_, i) => user(i)), password: PASSWORD,
    // Sessions loop from 127.0.0.1: no per-address connection rate (Dovecot has none here either).
    sectionToml: {
      imap: 'max_connections_per_address = 20000\nmax_sessions_per_user = 1000\nmax_connection_rate = 10000000',
      pop3: 'max_connection_rate = 10000000',
    },
    extraToml: `
[auth]
plaintext_without_tls = true
`,
  });
  const t: MailTarget = {
    name: 'correo',
    imapPort: s.imap ? p.port('imap') : 0,
    pop3Port: s.pop3 ? p.port('pop3') : 0,
    pid: () => p.pid(),
    stop: () => p.stop(),
    async restart() {
      await p.restart();
      t.imapPort = s.imap ? p.port('imap') : 0;
      t.pop3Port = s.pop3 ? p.port('pop3') : 0;
    },
  };
  return t;
}

export async function startDovecotMail(s: MailSetup): Promise<MailTarget> {
  const imapPort = s.imap ? await freeTcpPort() : 0;
  const pop3Port = s.pop3 ? await freeTcpPort() : 0;
  const d = await startDovecot({
    dir: s.dir, users: Array.from({ length: s.users }, (_, i) => user(i)), password: PASSWORD,
    imapPort: imapPort || undefined, pop3Port: pop3Port || undefined,
  });
  return { name: 'dovecot', imapPort, pop3Port, pid: () => d.pid(), stop: () => d.stop(), restart: () => d.restart() };
}
