import { isUtf8 } from 'node:buffer';
import { Codes, reply, type Reply } from './codes.js';
import { parsePath } from './address.js';

/**
 * SMTP command lines (RFC 5321 4.1.1) and the MAIL/RCPT arguments (4.1.2), parsed without I/O.
 * Parameters: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), RET/ENVID/NOTIFY/ORCPT
 * (RFC 3461 DSN).
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; reply: Reply };

export interface CommandLine {
  /** Upper-cased verb. */
  verb: string;
  /** Everything after the first space, as sent (may be ""). */
  arg: string;
}

/**
 * Splits a command line (without its CRLF). Command lines are text: valid UTF-8 (non-ASCII
 * only makes sense in SMTPUTF8 paths) and no control characters (RFC 5321 4.1.1: commands
 * are CHAR-based; a NUL or escape here is noise, not a command).
 */
export function splitCommand(line: Buffer): Parsed<CommandLine> {
  if (!isUtf8(line)) return { ok: false, reply: reply(Codes.SyntaxError, 'Error: command line is not valid UTF-8') };
  const text = line.toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(text)) {
    return { ok: false, reply: reply(Codes.SyntaxError, 'Error: control characters in command line') };
  }
  const sp = text.indexOf(' ');
  const verb = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
  const arg = sp < 0 ? '' : text.slice(sp + 1);
  if (!/^[A-Z]{1,16}$/.test(verb)) return { ok: false, reply: reply(Codes.SyntaxError, 'Error: command not recognized') };
  return { ok: true, value: { verb, arg } };
}

export interface MailParams {
  /** RFC 1870 SIZE: the client's estimate. */
  size?: number;
  /** RFC 6152 BODY. */
  body?: '7BIT' | '8BITMIME';
  /** RFC 6531 SMTPUTF8. */
  smtputf8: boolean;
  /** RFC 3461 4.3 RET. */
  ret?: 'FULL' | 'HDRS';
  /** RFC 3461 4.4 ENVID, decoded from xtext. */
  envid?: string;
}

export interface MailArgs {
  /** "" for the null reverse-path. */
  sender: string;
  params: MailParams;
}

export interface RcptArgs {
  address: string;
  /** RFC 3461 4.1 NOTIFY. */
  notify?: string[];
  /** RFC 3461 4.2 ORCPT as "addr-type;address" with the xtext decoded. */
  orcpt?: string;
}

function fail<T>(code: Parameters<typeof reply>[0], text: string): Parsed<T> {
  return { ok: false, reply: reply(code, text) };
}

/** RFC 3461 4: xtext = *( xchar / hexchar ); hexchar = "+" 2HEX (upper case). */
export function decodeXtext(s: string): string | null {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const cp = s.charCodeAt(i);
    if (cp === 0x2b) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else if (cp >= 33 && cp <= 126 && cp !== 0x3d) {
      out += s[i];
    } else {
      return null;
    }
  }
  return out;
}

interface RawParam {
  keyword: string;
  value: string | null;
}

/**
 * RFC 5321 4.1.2: Mail-parameters = esmtp-param *(SP esmtp-param);
 * esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); esmtp-value = 1*(%d33-60 / %d62-126)
 * (RFC 6531 3.3 adds UTF-8). Keywords are case-insensitive.
 */
function parseParams(text: string): RawParam[] | string {
  const out: RawParam[] = [];
  const seen = new Set<string>();
  for (const word of text.split(' ')) {
    if (!word) continue; // tolerate doubled spaces
    const eq = word.indexOf('=');
    const keyword = (eq < 0 ? word : word.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? null : word.slice(eq + 1);
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(keyword)) return `bad parameter "${word}"`;
    if (value !== null && !/^[\x21-\x3c\x3e-\x7e\u0080-\u{10FFFF}]+$/u.test(value)) return `bad value in parameter "${word}"`;
    if (seen.has(keyword)) return `parameter ${keyword} given twice`;
    seen.add(keyword);
    out.push({ keyword, value });
  }
  return out;
}

/**
 * "FROM:" / "TO:" then the path. RFC 5321 says no space after the colon; many clients send
 * one anyway, and accepting it costs nothing, so spaces there are skipped.
 */
function afterPrefix(arg: string, prefix: string): number {
  if (arg.slice(0, prefix.length).toUpperCase() !== prefix) return -1;
  let i = prefix.length;
  while (arg[i] === ' ') i++;
  return i;
}

/** RFC 5321 4.1.1.2: MAIL FROM:<reverse-path> [SP Mail-parameters] */
export function parseMail(arg: string): Parsed<MailArgs> {
  const start = afterPrefix(arg, 'FROM:');
  if (start < 0) return fail(Codes.BadArguments, 'Syntax: MAIL FROM:<address>');
  const path = parsePath(arg, start, true);
  if (!path.ok) return fail(Codes.BadSenderSyntax, `Bad sender address syntax: ${path.error}`);
  const rest = arg.slice(path.end);
  if (rest.length && rest[0] !== ' ') return fail(Codes.BadSenderSyntax, 'Bad sender address syntax: text after the path');
  const raw = parseParams(rest);
  if (typeof raw === 'string') return fail(Codes.BadArguments, `Syntax error in parameters: ${raw}`);
  const params: MailParams = { smtputf8: false };
  for (const { keyword, value } of raw) {
    switch (keyword) {
      case 'SIZE':
        // RFC 1870 5: size-value = 1*20DIGIT
        if (value === null || !/^\d{1,20}$/.test(value)) return fail(Codes.BadArguments, 'Bad SIZE parameter');
        params.size = Number(value);
        break;
      case 'BODY': {
        const v = value?.toUpperCase();
        if (v !== '7BIT' && v !== '8BITMIME') return fail(Codes.BadArguments, 'BODY must be 7BIT or 8BITMIME');
        params.body = v;
        break;
      }
      case 'SMTPUTF8':
        if (value !== null) return fail(Codes.BadArguments, 'SMTPUTF8 takes no value');
        params.smtputf8 = true;
        break;
      case 'RET': {
        const v = value?.toUpperCase();
        if (v !== 'FULL' && v !== 'HDRS') return fail(Codes.BadArguments, 'RET must be FULL or HDRS');
        params.ret = v;
        break;
      }
      case 'ENVID': {
        // RFC 3461 4.4: at most 100 characters of xtext
        const decoded = value === null || value.length > 100 ? null : decodeXtext(value);
        if (decoded === null) return fail(Codes.BadArguments, 'Bad ENVID parameter');
        params.envid = decoded;
        break;
      }
      default:
        return fail(Codes.UnknownParameter, `Unsupported parameter ${keyword}`);
    }
  }
  // RFC 6531 3.4: non-ASCII in the envelope needs the SMTPUTF8 parameter.
  if (path.utf8 && !params.smtputf8) return fail(Codes.NeedsSmtpUtf8, 'Non-ASCII sender address needs SMTPUTF8');
  return { ok: true, value: { sender: path.mailbox?.address ?? '', params } };
}

/**
 * RFC 5321 4.1.1.3: RCPT TO:<forward-path> [SP Rcpt-parameters], where "<Postmaster>" alone
 * (any case) must be accepted and means the postmaster of `postmasterDomain`.
 */
export function parseRcpt(arg: string, opts: { smtputf8: boolean; postmasterDomain: string }): Parsed<RcptArgs> {
  const start = afterPrefix(arg, 'TO:');
  if (start < 0) return fail(Codes.BadArguments, 'Syntax: RCPT TO:<address>');
  let address: string;
  let end: number;
  let utf8 = false;
  const pm = /^<postmaster>/i.exec(arg.slice(start));
  if (pm) {
    address = `postmaster@${opts.postmasterDomain}`;
    end = start + pm[0].length;
  } else {
    const path = parsePath(arg, start, false);
    if (!path.ok) return fail(Codes.BadRecipientSyntax, `Bad recipient address syntax: ${path.error}`);
    address = path.mailbox!.address;
    end = path.end;
    utf8 = path.utf8;
  }
  const rest = arg.slice(end);
  if (rest.length && rest[0] !== ' ') return fail(Codes.BadRecipientSyntax, 'Bad recipient address syntax: text after the path');
  const raw = parseParams(rest);
  if (typeof raw === 'string') return fail(Codes.BadArguments, `Syntax error in parameters: ${raw}`);
  const out: RcptArgs = { address };
  for (const { keyword, value } of raw) {
    switch (keyword) {
      case 'NOTIFY': {
        // RFC 3461 4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" )
        const items = (value ?? '').toUpperCase().split(',');
        const ok =
          (items.length === 1 && items[0] === 'NEVER') ||
          (items.every((x) => x === 'SUCCESS' || x === 'FAILURE' || x === 'DELAY') && new Set(items).size === items.length);
        if (!ok) return fail(Codes.BadArguments, 'Bad NOTIFY parameter');
        out.notify = items;
        break;
      }
      case 'ORCPT': {
        // RFC 3461 4.2: addr-type ";" xtext
        const semi = value?.indexOf(';') ?? -1;
        const type = semi > 0 ? value!.slice(0, semi) : '';
        const decoded = semi > 0 ? decodeXtext(value!.slice(semi + 1)) : null;
        if (!/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/.test(type) || !decoded || value!.length > 500) {
          return fail(Codes.BadArguments, 'Bad ORCPT parameter');
        }
        out.orcpt = `${type};${decoded}`;
        break;
      }
      default:
        return fail(Codes.UnknownParameter, `Unsupported parameter ${keyword}`);
    }
  }
  if (utf8 && !opts.smtputf8) return fail(Codes.NeedsSmtpUtf8, 'Non-ASCII recipient address needs SMTPUTF8');
  return { ok: true, value: out };
}
