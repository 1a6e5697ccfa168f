/**
 * SASLprep (RFC 4013), the profile SCRAM (RFC 5802 2.2) and DIGEST-MD5 apply to passwords,
 * without the prohibited-output and bidi checks: those only refuse strings, and a password
 * the user could set is one they must be able to log in with. Mapping (RFC 4013 2.1):
 * non-ASCII spaces to SPACE, "commonly mapped to nothing" (RFC 3454 B.1) removed; then NFKC.
 */

// RFC 3454 C.1.2 non-ASCII space characters.
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
// RFC 3454 B.1 commonly mapped to nothing.
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;

export function saslprep(s: string): string {
  return s.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
}
