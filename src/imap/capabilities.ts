import type { Session } from './session.js';
import { offeredMechanisms } from '../auth/sasl.js';

/** Extensions implemented after login (RFC 9051 7.2.2 CAPABILITY), each with its RFC. */
const EXTENSIONS = [
  'SASL-IR', // RFC 4959
  'ENABLE', // RFC 5161
  'ID', // RFC 2971
  'IDLE', // RFC 2177
  'NAMESPACE', // RFC 2342
  'UNSELECT', // RFC 3691
  'UIDPLUS', // RFC 4315
  'MOVE', // RFC 6851
  'CHILDREN', // RFC 3348
  'CONDSTORE', // RFC 7162
  'QRESYNC', // RFC 7162
  'SPECIAL-USE', // RFC 6154
  'CREATE-SPECIAL-USE', // RFC 6154
  'LIST-EXTENDED', // RFC 5258
  'LIST-STATUS', // RFC 5819
  'LIST-MYRIGHTS', // RFC 8440
  'OBJECTID', // RFC 8474
  'STATUS=SIZE', // RFC 8438
  'ESEARCH', // RFC 4731
  'SEARCHRES', // RFC 5182
  'SORT', // RFC 5256
  'THREAD=REFERENCES', // RFC 5256
  'THREAD=ORDEREDSUBJECT', // RFC 5256
  'BINARY', // RFC 3516
  'MULTIAPPEND', // RFC 3502
  'UTF8=ACCEPT', // RFC 6855
  'QUOTA', // RFC 9208
  'QUOTA=RES-STORAGE',
  'QUOTA=RES-MESSAGE',
  'ACL', // RFC 4314
  'RIGHTS=kxte',
];

export function capabilities(s: Session): string[] {
  const caps = ['IMAP4rev1', 'IMAP4rev2'];
  const plaintextOk = s.secure || s.ctx.config.auth.plaintext_without_tls;
  if (s.state.kind === 'not-authenticated') {
    if (!s.secure) caps.push('STARTTLS');
    // RFC 9051 6.2.3: LOGIN must not be offered where it would send the password in the clear.
    if (!plaintextOk) caps.push('LOGINDISABLED');
    // The mechanisms the admin enabled ([auth] mechanisms), PLAIN and LOGIN only where allowed.
    for (const m of offeredMechanisms(s.secure, s.ctx.config.auth.plaintext_without_tls, s.ctx.config.auth.mechanisms)) caps.push(`AUTH=${m}`);
  }
  // RFC 7888: before login only small non-synchronising literals (LITERAL-), see limits.ts.
  caps.push(s.state.kind === 'not-authenticated' ? 'LITERAL-' : 'LITERAL+');
  caps.push(...EXTENSIONS, `APPENDLIMIT=${s.ctx.config.imap.max_literal_size}`);
  if (!s.compressed) caps.push('COMPRESS=DEFLATE'); // RFC 4978
  return caps;
}
