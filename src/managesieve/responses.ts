/**
 * ManageSieve responses (RFC 5804 4): OK / NO / BYE, an optional response code in parentheses,
 * an optional human-readable string; strings go quoted when they can, as literals otherwise.
 */

/** RFC 5804 1.3 response codes Correo sends. */
export type ResponseCode =
  | 'AUTH-TOO-WEAK' | 'ENCRYPT-NEEDED' | 'QUOTA' | 'QUOTA/MAXSCRIPTS' | 'QUOTA/MAXSIZE'
  | 'REFERRAL' | 'SASL' | 'TRANSITION-NEEDED' | 'TRYLATER' | 'ACTIVE' | 'NONEXISTENT'
  | 'ALREADYEXISTS' | 'TAG' | 'WARNINGS';

/** RFC 5804 4: quoted = DQUOTE *QUOTED-CHAR DQUOTE, with \" and \\; anything with CR, LF or NUL (or long) is a literal. */
export function sieveString(value: string | Buffer): string | Buffer {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (b.length <= 1024 && !b.includes(13) && !b.includes(10) && !b.includes(0)) {
    return `"${b.toString('utf8').replace(/[\\"]/g, (c) => '\\' + c)}"`;
  }
  return Buffer.concat([Buffer.from(`{${b.length}}\r\n`), b]);
}

function line(kind: 'OK' | 'NO' | 'BYE', code: string | null, text?: string): Buffer {
  const parts: (string | Buffer)[] = [kind];
  if (code) parts.push(` (${code})`);
  if (text !== undefined) parts.push(' ', sieveString(text));
  parts.push('\r\n');
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

export const ok = (text?: string, code: string | null = null) => line('OK', code, text);
export const no = (text: string, code: ResponseCode | null = null) => line('NO', code, text);
export const bye = (text: string, code: ResponseCode | null = null) => line('BYE', code, text);
