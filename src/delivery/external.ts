import { Transform, type Readable } from 'node:stream';
import type { DeliveryConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { isRoot } from '../privileges/passwd.js';
import type { DeliveryHelper } from './helper.js';
import { appendMbox, toMbox } from './mbox-file.js';
import { programArgv, resolveProgram } from './program-path.js';
import { decideRunAs, type ExternalRequestTarget } from './run-as.js';
import { runProgram, type RunOutcome } from './run-program.js';
import type { ExternalTarget } from './resolve.js';

/**
 * Deliveries that leave the store (S16, S19, S29): `|program` and `/file` targets.
 *
 * Programs run smrsh-like (delivery/program-path.ts) with an empty environment but for
 * SENDER/RECIPIENT/PATH, the message on standard input with Unix line ends (sendmail's prog
 * and local mailers use E=\n), and `program_timeout` seconds to finish. Exit status 0 is
 * delivered; anything else (or a timeout) fails the delivery, which bounces, with the
 * program's sysexits status mapped to an enhanced status code.
 *
 * Files are appended to in mbox format, only when named in the aliases file (inside
 * `file_dirs`) or an :include: file, and fsync'd before the delivery counts.
 *
 * Who runs them (issue 9 items 2 and 5): never root. When the server started as root, the
 * privileged helper (delivery/helper-main.ts) runs each as the user delivery/run-as.ts picks;
 * a server that never was root runs them as itself, after the same checks.
 *
 * The bounce tells a remote sender what kind of thing failed, never paths or settings
 * (issue 9 item 12): those are in the log.
 */

export interface ExternalOutcome {
  ok: boolean;
  /** RFC 3463 status for the DSN. */
  status: string;
  /** What happened, for the log. */
  detail: string;
  /** What the DSN's Diagnostic-Code says (no paths, no settings). */
  text: string;
}

export interface ExternalMessage {
  sender: string;
  recipient: string;
  /** The stored message (Return-Path first), as a fresh stream each call. */
  open(): Readable;
  read(): Promise<Buffer>;
}

const REFUSED = 'delivery refused by the local configuration';

/** The sender's text for an outcome: a program's own answer, else the kind of failure. */
function publicText(kind: 'program' | 'file', o: RunOutcome): string {
  if (o.ok) return 'delivered';
  if (!o.ran) return o.status.startsWith('4.') ? `${kind} delivery temporarily unavailable` : REFUSED;
  if (kind === 'file') return o.status.startsWith('4.') ? 'cannot write the mailbox file now' : 'cannot write the mailbox file';
  // "procmail exited 67: no such user": the program's own words, which are for the sender.
  return o.detail;
}

function requestOf(t: ExternalTarget): ExternalRequestTarget {
  return { kind: t.kind, value: t.kind === 'program' ? t.command : t.path, origin: t.origin, ...(t.include ? { include: t.include } : {}) };
}

export class ExternalDelivery {
  private warned = false;

  constructor(private readonly cfg: DeliveryConfig, private readonly log: Logger, private helper: DeliveryHelper | null = null) {}

  /** The root helper, forked by server.ts just before it drops root (null: not started as root). */
  attachHelper(helper: DeliveryHelper | null): void {
    this.helper = helper;
  }

  async deliver(t: ExternalTarget, msg: ExternalMessage): Promise<ExternalOutcome> {
    // Refusals the server can see itself, before anything runs.
    const early = this.check(t);
    const o: RunOutcome = early
      ? { ok: false, ran: false, ...early }
      : this.helper
        ? await this.helper.run(requestOf(t), msg.sender, msg.recipient, await msg.read())
        : await this.inProcess(t, msg);
    return { ok: o.ok, status: o.status, detail: o.detail, text: publicText(t.kind, o) };
  }

  private check(t: ExternalTarget): { status: string; detail: string } | null {
    if (t.kind === 'file') return t.path.startsWith('/') ? null : { status: '5.3.5', detail: `${t.path}: not an absolute path` };
    const argv = programArgv(t.command);
    if (typeof argv === 'string') return { status: '5.7.1', detail: argv };
    const found = resolveProgram(this.cfg.program_dir, argv[0]);
    return 'error' in found ? { status: '5.7.1', detail: found.error } : null;
  }

  /** Not root: run as this process's own user, after the same rules the helper applies. */
  private async inProcess(t: ExternalTarget, msg: ExternalMessage): Promise<RunOutcome> {
    if (isRoot()) return { ok: false, ran: false, status: '4.3.0', detail: 'no delivery helper; deliveries never run as root' };
    const rule = decideRunAs(requestOf(t), this.cfg);
    // The rules hold; only the identity cannot be switched to without root.
    if (!rule.ok && !rule.identityOnly) return { ok: false, ran: false, status: rule.status, detail: rule.log };
    if (t.kind === 'file') {
      const err = appendMbox(t.path, toMbox(await msg.read(), msg.sender));
      if (err) return { ok: false, ran: true, status: err.code === 'ENOSPC' || err.code === 'EDQUOT' ? '4.3.1' : '5.3.0', detail: err.message };
      return { ok: true, ran: true, status: '2.0.0', detail: `appended to ${t.path}` };
    }
    if (!this.warned) {
      this.warned = true;
      this.log.warn(null, `not running as root: programs run as this process's user, not ${this.cfg.program_user}`);
    }
    const argv = programArgv(t.command) as string[];
    const path = (resolveProgram(this.cfg.program_dir, argv[0]) as { path: string }).path;
    const user = this.cfg.program_user;
    return runProgram({
      path, args: argv.slice(1), who: null, timeoutMs: this.cfg.program_timeout * 1000,
      env: { PATH: '/usr/bin:/bin', SENDER: msg.sender, RECIPIENT: msg.recipient, LOGNAME: user, USER: user, HOME: '/' },
      input: msg.open().pipe(crlfToLf()),
    });
  }
}

/** CRLF -> LF on a stream, a CR at the end of a chunk held until the next one tells. */
export function crlfToLf(): Transform {
  let held = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      let b = held ? Buffer.concat([Buffer.from('\r'), chunk]) : chunk;
      held = b.length > 0 && b[b.length - 1] === 0x0d;
      if (held) b = b.subarray(0, -1);
      const out: number[] = [];
      for (let i = 0; i < b.length; i++) {
        if (b[i] === 0x0d && b[i + 1] === 0x0a) continue;
        out.push(b[i]);
      }
      done(null, Buffer.from(out));
    },
    flush(done) {
      done(null, held ? Buffer.from('\r') : null);
    },
  });
}
