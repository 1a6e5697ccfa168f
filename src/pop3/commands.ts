/**
 * POP3 command parsing (no I/O): one framed line in, a typed command or a reason out.
 *
 * RFC 1939 3: a case-insensitive keyword of three or four characters, then arguments, each
 * separated by a single SPACE. We accept runs of spaces and a trailing space too (some clients
 * send "LIST "), since nothing in POP3 depends on empty arguments.
 */

export type ParsedCommand =
  | {
      ok: true;
      /** Upper-cased keyword. */
      verb: string;
      /** Arguments split on spaces. */
      args: string[];
      /** Everything after the keyword and its space, as sent (PASS: a password may hold spaces, RFC 1939 7). */
      rest: string;
    }
  | { ok: false; reason: 'empty' | 'bad-characters' | 'bad-keyword' };

/** Control characters other than TAB have no place in a command; binary noise lands here. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

export function parseCommand(line: Buffer): ParsedCommand {
  // 8-bit octets are allowed: a UTF-8 user name or password is no reason to refuse a login.
  const text = line.toString('utf8');
  if (CONTROL.test(text)) return { ok: false, reason: 'bad-characters' };
  if (text.trim() === '') return { ok: false, reason: 'empty' };
  const sp = text.indexOf(' ');
  const keyword = sp < 0 ? text : text.slice(0, sp);
  if (!/^[A-Za-z]{3,4}$/.test(keyword)) return { ok: false, reason: 'bad-keyword' };
  const rest = sp < 0 ? '' : text.slice(sp + 1);
  const args = rest.split(' ').filter((a) => a !== '');
  return { ok: true, verb: keyword.toUpperCase(), args, rest };
}

/**
 * RFC 1939 3: a message number is a decimal, 1 upward. Returns null for anything else
 * ("+1", "0", "01", "1e3", more digits than any maildrop could need).
 */
export function parseMessageNumber(arg: string): number | null {
  return /^[1-9][0-9]{0,8}$/.test(arg) ? Number(arg) : null;
}

/** RFC 1939 7 TOP: the number of body lines, a non-negative decimal. */
export function parseLineCount(arg: string): number | null {
  return /^(0|[1-9][0-9]{0,8})$/.test(arg) ? Number(arg) : null;
}
