import type { Config } from '../config/types.js';
import { Codes, formatReply, reply, type Reply } from '../smtp/codes.js';
import { parseMail, parseRcpt, splitCommand } from '../smtp/command.js';
import { DataDecoder } from '../smtp/data.js';
import { LineFramer } from '../smtp/lines.js';
import { writeDrop } from '../smtp/maildrop.js';
import type { SendmailArgs } from './sendmail-args.js';

/**
 * `sendmail -bs`: an SMTP session (RFC 5321) on standard input and output, as programs that
 * speak SMTP to a local sendmail use it. Each accepted message goes to the maildrop, and the
 * 250 comes once it is on disk. The MAIL FROM address is treated like -f: the server decides
 * whether this user may use it (S24). No AUTH, no STARTTLS: the local user is the identity.
 */

type State = { kind: 'fresh' } | { kind: 'ready' } | { kind: 'mail'; sender: string; rcpts: string[]; notify: Map<string, string[]> };

export async function smtpOnStdio(cfg: Config, args: SendmailArgs, dir: string, login: string): Promise<number> {
  const out = (r: Reply) => process.stdout.write(formatReply(r));
  const framer = new LineFramer(cfg.smtp.max_line_length);
  let state: State = { kind: 'fresh' };
  // A holder, so that the command handler's switch into DATA is seen by the read loop.
  const io: { data: { decoder: DataDecoder; parts: Buffer[]; size: number } | null } = { data: null };
  out({ code: 220, text: `${cfg.hostname} ESMTP Correo sendmail (local submission by ${login})` });

  const command = async (line: Buffer): Promise<'quit' | void> => {
    const p = splitCommand(line);
    if (!p.ok) return void out(p.reply);
    const { verb, arg } = p.value;
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        state = { kind: 'ready' };
        return void out(verb === 'EHLO'
          ? { code: 250, text: [cfg.hostname, 'PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', `SIZE ${cfg.smtp.max_message_size}`] }
          : { code: 250, text: cfg.hostname });
      case 'MAIL': {
        if (state.kind === 'fresh') return void out(reply(Codes.BadSequence, 'Error: send HELO/EHLO first'));
        if (state.kind === 'mail') return void out(reply(Codes.BadSequence, 'Error: nested MAIL command'));
        const m = parseMail(arg);
        if (!m.ok) return void out(m.reply);
        state = { kind: 'mail', sender: m.value.sender, rcpts: [], notify: new Map() };
        return void out(reply(Codes.SenderOk, 'Ok'));
      }
      case 'RCPT': {
        if (state.kind !== 'mail') return void out(reply(Codes.BadSequence, 'Error: need MAIL command'));
        const r = parseRcpt(arg, { smtputf8: true, postmasterDomain: cfg.submission.qualify_domain });
        if (!r.ok) return void out(r.reply);
        if (state.rcpts.length >= cfg.smtp.max_recipients) return void out(reply(Codes.TooManyRecipients, 'Error: too many recipients'));
        state.rcpts.push(r.value.address);
        if (r.value.notify) state.notify.set(r.value.address, r.value.notify);
        return void out(reply(Codes.RecipientOk, 'Ok'));
      }
      case 'DATA':
        if (state.kind !== 'mail' || !state.rcpts.length) return void out(reply(Codes.BadSequence, 'Error: need RCPT command'));
        io.data = { decoder: new DataDecoder(), parts: [], size: 0 };
        return void out(reply(Codes.StartInput, 'End data with <CR><LF>.<CR><LF>'));
      case 'RSET':
        if (state.kind !== 'fresh') state = { kind: 'ready' };
        return void out(reply(Codes.Ok, 'Ok'));
      case 'NOOP':
        return void out(reply(Codes.Ok, 'Ok'));
      case 'VRFY':
        return void out(reply(Codes.CannotVerify, 'Cannot VRFY user; try RCPT to attempt delivery'));
      case 'QUIT':
        out(reply(Codes.Bye, 'Bye'));
        return 'quit';
      default:
        return void out(reply(Codes.NotImplemented, `Error: ${verb} not available in sendmail -bs`));
    }
  };

  const endData = async (message: Buffer): Promise<void> => {
    const s = state;
    state = { kind: 'ready' };
    if (s.kind !== 'mail') return;
    if (message.length > cfg.smtp.max_message_size) return void out(reply(Codes.MessageTooBig, 'Message size exceeds fixed maximum message size'));
    const notify = [...s.notify.values()][0];
    try {
      const name = await writeDrop(dir, { sender: s.sender, recipients: s.rcpts, fullName: args.fullName, ...(notify ? { notify } : {}) }, message);
      out(reply(Codes.Ok, `Ok: queued as ${name.replace(/\.msg$/, '')}`));
    } catch (e) {
      out(reply(Codes.LocalError, `Error: cannot queue the message: ${(e as Error).message}`));
    }
  };

  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    let buf: Buffer = chunk;
    while (buf.length) {
      const data = io.data;
      if (data) {
        const r = data.decoder.push(buf);
        for (const b of r.out) {
          data.size += b.length;
          if (data.size <= cfg.smtp.max_message_size) data.parts.push(b);
        }
        if (!r.done) break;
        buf = r.rest;
        const message = data.size > cfg.smtp.max_message_size ? Buffer.alloc(data.size) : Buffer.concat(data.parts);
        io.data = null;
        await endData(message);
        continue;
      }
      framer.push(buf);
      buf = Buffer.alloc(0);
      for (let f = framer.next(); f; f = framer.next()) {
        if (f.kind !== 'line') {
          out(reply(f.kind === 'bare-lf' ? Codes.SyntaxError : Codes.LineTooLong, f.kind === 'bare-lf' ? 'Error: bare <LF> received; SMTP lines end with <CR><LF>' : 'Error: line too long'));
          continue;
        }
        if ((await command(f.line)) === 'quit') return 0;
        if (io.data) {
          buf = framer.takeRest();
          break;
        }
      }
    }
  }
  return 0;
}
