import { accessSync, constants as fsc, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { findConfigFile, loadConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import type { Config } from '../config/types.js';
import { addressSpans, splitHeader } from '../smtp/header-fields.js';
import { toCrlf, writeDrop, type DropEnvelope } from '../smtp/maildrop.js';
import { queueCommand } from './queue.js';
import { parseSendmailArgs, SendmailUsage, type SendmailArgs } from './sendmail-args.js';
import { smtpOnStdio } from './sendmail-bs.js';
import { askShowq } from '../smtp/showq.js';
import { isRoot, userByName } from '../privileges/passwd.js';
import { runAsServerUser } from '../privileges/cli-user.js';

/**
 * `correo sendmail` (and the `sendmail`, `mailq` names): the local submission program (S31).
 * The message goes into the maildrop (smtp/maildrop.ts) and this command exits 0 only once
 * it is on disk (fsync); the running server takes it from there, or takes it when it starts.
 * Exit codes are sysexits(3), which cron and PHP report.
 */

export const EX = { OK: 0, USAGE: 64, DATAERR: 65, NOUSER: 67, UNAVAILABLE: 69, SOFTWARE: 70, CANTCREAT: 73, TEMPFAIL: 75, NOPERM: 77, CONFIG: 78 } as const;

const USAGE = `usage: sendmail [-t] [-i] [-f sender] [-F "Full Name"] [-bs|-bp|-bm] [-C config] [recipient ...]
       mailq`;

/** -t: the addresses of To:, Cc: and Bcc: (RFC 5322 3.6.3), or of the Resent- ones when there are any. */
export function headerRecipients(message: Buffer): string[] {
  const text = message.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const lines = splitHeader(end < 0 ? text : text.slice(0, end + 2));
  const fields = lines.flatMap((l) => (l.kind === 'field' ? [l.field] : []));
  const resent = fields.some((f) => /^resent-(to|cc|bcc)$/i.test(f.name));
  const wanted = resent ? /^resent-(to|cc|bcc)$/i : /^(to|cc|bcc)$/i;
  const out: string[] = [];
  for (const f of fields) {
    if (!wanted.test(f.name)) continue;
    for (const s of addressSpans(f.value)) out.push(Buffer.from(f.value.slice(s.start, s.end), 'latin1').toString('utf8'));
  }
  return out;
}

/** Without -i a line holding a single "." ends the message (sendmail's default); the rest is not read. */
export function cutAtDot(input: Buffer): Buffer {
  const s = input.toString('latin1');
  const m = /(^|\n)\.\r?(\n|$)/.exec(s);
  return m ? Buffer.from(s.slice(0, m.index + m[1].length), 'latin1') : input;
}

function readStdin(limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    process.stdin.on('data', (d: Buffer) => {
      n += d.length;
      if (n > limit) {
        reject(Object.assign(new Error(`message larger than ${limit} octets`), { exit: EX.DATAERR }));
        process.stdin.destroy();
        return;
      }
      parts.push(d);
    });
    process.stdin.on('end', () => resolve(Buffer.concat(parts)));
    process.stdin.on('error', reject);
  });
}

function config(args: SendmailArgs): Config {
  return loadConfig(findConfigFile(args.config ?? process.env.CORREO_CONFIG));
}

/** The maildrop must exist (the server makes it at start); root may make it first. */
function maildrop(cfg: Config): string {
  const dir = cfg.sendmail.maildrop;
  if (!existsSync(dir)) throw Object.assign(new Error(`${dir} does not exist yet (start the server once: correo serve)`), { exit: EX.TEMPFAIL });
  if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { exit: EX.CONFIG });
  return dir;
}

async function deliver(args: SendmailArgs, cfg: Config): Promise<number> {
  let message = await readStdin(cfg.smtp.max_message_size + 1024 * 1024);
  if (!args.ignoreDots) message = cutAtDot(message);
  message = toCrlf(message);
  if (message.length > cfg.smtp.max_message_size) {
    console.error(`sendmail: message of ${message.length} octets is over the limit of ${cfg.smtp.max_message_size}`);
    return EX.DATAERR;
  }
  // sendmail -t: the header's recipients, minus those named on the command line.
  let recipients = args.recipients;
  if (args.extract) {
    const skip = new Set(args.recipients.map((r) => r.toLowerCase()));
    recipients = headerRecipients(message).filter((r) => !skip.has(r.toLowerCase()));
  }
  if (!recipients.length) {
    console.error(args.extract ? 'sendmail: No recipient addresses found in header' : 'sendmail: no recipients given (name them, or use -t)');
    return EX.USAGE;
  }
  const env: DropEnvelope = { sender: args.sender, recipients, fullName: args.fullName };
  if (args.notify) env.notify = args.notify;
  if (args.ret) env.ret = args.ret;
  if (args.envid !== undefined) env.envid = args.envid;
  await writeDrop(maildrop(cfg), env, message);
  return EX.OK;
}

/** Root and the server's own user may read and run the whole queue (sendmail's restrictmailq, restrictqrun). */
function queueOwner(cfg: Config): boolean {
  return isRoot() || process.getuid?.() === userByName(cfg.server.user)?.uid;
}

function canReadDatabase(cfg: Config): boolean {
  try {
    accessSync(join(cfg.data_dir, 'correo.db'), fsc.R_OK | fsc.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** -bp: the whole queue for its owners; anyone else asks the server for their own messages (issue 9 item 4). */
async function mailq(cfg: Config): Promise<number> {
  if (queueOwner(cfg)) {
    runAsServerUser(cfg);
    return queueCommand(cfg, ['list']);
  }
  try {
    console.log(await askShowq(cfg.sendmail.maildrop));
    return EX.OK;
  } catch (e) {
    // No server to ask: a server that runs as this very user leaves the database readable to it.
    if (canReadDatabase(cfg)) return queueCommand(cfg, ['list']);
    console.error(`mailq: cannot ask the mail server (${(e as Error).message}); is it running?`);
    return EX.UNAVAILABLE;
  }
}

export async function sendmailMain(argv: string[], invokedAs = 'sendmail'): Promise<number> {
  try {
    const args = parseSendmailArgs(argv, invokedAs);
    const cfg = config(args);
    switch (args.mode) {
      case 'print':
        return await mailq(cfg);
      case 'queue-run':
        if (!queueOwner(cfg) && !canReadDatabase(cfg)) {
          console.error('sendmail: only root and the mail server\'s user may run the queue (restrictqrun)');
          return EX.NOPERM;
        }
        runAsServerUser(cfg);
        return await queueCommand(cfg, ['flush']);
      case 'aliases':
        console.log(`${cfg.maps.aliases ?? 'no aliases file'}: nothing to rebuild; the running server re-reads it when it changes (check it with "correo aliases")`);
        return EX.OK;
      case 'smtp':
        return await smtpOnStdio(cfg, args, maildrop(cfg), userInfo().username);
      case 'deliver':
        return await deliver(args, cfg);
    }
  } catch (e) {
    if (e instanceof SendmailUsage) {
      console.error(`sendmail: ${e.message}\n${USAGE}`);
      return EX.USAGE;
    }
    if (e instanceof ConfigError) {
      console.error(e.message);
      return EX.CONFIG;
    }
    const err = e as NodeJS.ErrnoException & { exit?: number };
    console.error(`sendmail: ${err.message}`);
    if (err.exit) return err.exit;
    // Cannot write the maildrop now (full disk, permissions): the caller should try later.
    return err.code === 'EACCES' || err.code === 'EPERM' ? EX.NOPERM : EX.TEMPFAIL;
  }
}
