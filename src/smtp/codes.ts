/**
 * SMTP replies: the basic code (RFC 5321 4.2.2/4.2.3) and the enhanced status code
 * (RFC 2034 ENHANCEDSTATUSCODES, classes from RFC 3463) travel together, so that a handler
 * names what happened and never spells digits.
 */

export interface Reply {
  code: number;
  /** RFC 3463 class.subject.detail, e.g. "5.1.1"; absent on the greeting and 220 before TLS. */
  enhanced?: string;
  /** One or more lines of text (multi-line replies, RFC 5321 4.2.1). */
  text: string | string[];
}

/** A reply code with its enhanced code, waiting for its text. */
export interface Code {
  code: number;
  enhanced: string;
}

const c = (code: number, enhanced: string): Code => ({ code, enhanced });

export const Codes = {
  // 2yz
  /** RFC 5321 4.2.3 + RFC 3463 X.0.0: other/undefined status, success. */
  Ok: c(250, '2.0.0'),
  /** RFC 3463 X.1.0: other address status (MAIL FROM accepted). */
  SenderOk: c(250, '2.1.0'),
  /** RFC 3463 X.1.5: destination address valid. */
  RecipientOk: c(250, '2.1.5'),
  /** RFC 5321 4.1.1.10: 221 closing transmission channel. */
  Bye: c(221, '2.0.0'),
  /** RFC 5321 4.1.1.8: 214 help message. */
  Help: c(214, '2.0.0'),
  /** RFC 5321 3.5.3: 252 cannot VRFY user, but will accept message and attempt delivery. */
  CannotVerify: c(252, '2.5.2'),
  /** RFC 3207 4: 220 Ready to start TLS. */
  ReadyForTls: c(220, '2.0.0'),

  /** RFC 4954 6: 235 2.7.0 Authentication Succeeded. */
  AuthOk: c(235, '2.7.0'),

  // 3yz
  /** RFC 5321 4.1.1.4: 354 start mail input. */
  StartInput: c(354, ''),

  // 4yz
  /** RFC 5321 3.8: 421 service not available, closing transmission channel. */
  ClosingTooManyErrors: c(421, '4.7.0'),
  /** RFC 3463 X.4.2: bad connection (idle timeout). */
  ClosingTimeout: c(421, '4.4.2'),
  /** RFC 3463 X.3.2: system not accepting network messages (too many connections, shutdown). */
  ClosingBusy: c(421, '4.3.2'),
  /** RFC 3463 X.3.0: other or undefined mail system status (local error in processing). */
  LocalError: c(451, '4.3.0'),
  /** RFC 5321 4.2.2 "452 insufficient system storage" + RFC 3463 X.3.1: mail system full. */
  StorageFull: c(452, '4.3.1'),
  /** RFC 5321 4.5.3.1.10 + RFC 3463 X.5.3: too many recipients. */
  TooManyRecipients: c(452, '4.5.3'),
  /** RFC 3207 4: 454 TLS not available due to temporary reason. */
  TlsUnavailable: c(454, '4.7.0'),
  /** RFC 4954 6: 454 4.7.0 Temporary authentication failure (here: throttled after failures). */
  AuthTempFail: c(454, '4.7.0'),

  // 5yz
  /** RFC 5321 4.2.4: 500 syntax error, command unrecognized; RFC 3463 X.5.2 syntax error. */
  SyntaxError: c(500, '5.5.2'),
  /** RFC 5321 4.5.3.1.4: command line too long. */
  LineTooLong: c(500, '5.5.2'),
  /** RFC 5321 4.2.2: 501 syntax error in parameters or arguments; RFC 3463 X.5.4. */
  BadArguments: c(501, '5.5.4'),
  /** RFC 3463 X.1.7: bad sender's mailbox address syntax. */
  BadSenderSyntax: c(501, '5.1.7'),
  /** RFC 3463 X.1.3: bad destination mailbox address syntax. */
  BadRecipientSyntax: c(501, '5.1.3'),
  /** RFC 5321 4.2.2: 502 command not implemented; RFC 3463 X.5.1 invalid command. */
  NotImplemented: c(502, '5.5.1'),
  /** RFC 5321 4.2.2: 503 bad sequence of commands. */
  BadSequence: c(503, '5.5.1'),
  /** RFC 5321 4.2.2/RFC 1870 6 + RFC 3463 X.3.4: message too big for system. */
  MessageTooBig: c(552, '5.3.4'),
  /** RFC 6531 3.5 + 3.7.4.1: 553 5.6.7 non-ASCII addresses not permitted without SMTPUTF8. */
  NeedsSmtpUtf8: c(553, '5.6.7'),
  /** RFC 5321 4.1.1.11 + 3.3: 555 MAIL FROM/RCPT TO parameters not recognized or not implemented. */
  UnknownParameter: c(555, '5.5.4'),
  /** RFC 4954 6: 530 5.7.0 Authentication required (submission, RFC 6409 4.3). */
  AuthRequired: c(530, '5.7.0'),
  /** RFC 4954 6: 535 5.7.8 Authentication credentials invalid. */
  AuthFailed: c(535, '5.7.8'),
  /** RFC 4954 6: 538 5.7.11 Encryption required for requested authentication mechanism. */
  EncryptionRequired: c(538, '5.7.11'),
  /** RFC 4954 6: 504 5.5.4 Unrecognized authentication type. */
  UnknownMechanism: c(504, '5.5.4'),
  /** RFC 4954 4: 501 5.5.2 Cannot Base64-decode Client responses. */
  CannotDecode: c(501, '5.5.2'),
  /** RFC 4954 4: 501 5.7.0 Client initiated Authentication Exchange (the client sent "*"). */
  AuthCancelled: c(501, '5.7.0'),
  /** RFC 4954 6: 500 5.5.6 Authentication Exchange line is too long. */
  AuthLineTooLong: c(500, '5.5.6'),
  /** RFC 3463 X.7.1 delivery not authorized: a sender address the user does not own (RFC 6409 8.1). */
  SenderNotOwned: c(553, '5.7.1'),
  /** RFC 7504 3: 521 this host does not accept mail (here: an HTTP/proxy request on an SMTP port). */
  NotSmtp: c(521, '5.7.0'),
} as const;

export function reply(code: Code, text: string | string[]): Reply {
  return code.enhanced ? { code: code.code, enhanced: code.enhanced, text } : { code: code.code, text };
}

/**
 * RFC 5321 4.2.1: every line but the last has "-" after the code; the enhanced code is
 * repeated on each line (RFC 2034 4).
 */
export function formatReply(r: Reply): string {
  const lines = Array.isArray(r.text) ? r.text : [r.text];
  const prefix = r.enhanced ? ` ${r.enhanced} ` : ' ';
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const sep = i === lines.length - 1 ? prefix : '-' + prefix.slice(1);
    out += `${r.code}${sep}${lines[i]}\r\n`;
  }
  return out;
}
