/**
 * POP3 replies, named. RFC 1939 3: "+OK" or "-ERR", text after it for humans.
 * Response codes in brackets are RFC 2449 8 (extended response codes) with the codes of
 * RFC 2449 8.1 (IN-USE, LOGIN-DELAY) and RFC 3206 (SYS/TEMP, SYS/PERM, AUTH).
 */

export const Reply = {
  greeting: (hostname: string) => `+OK ${hostname} Correo POP3 server ready`,
  signOff: (hostname: string) => `+OK ${hostname} Correo POP3 server signing off`,
  // RFC 1939 6: the reply to QUIT in TRANSACTION state says what is left.
  signOffLeft: (hostname: string, left: number) => `+OK ${hostname} Correo POP3 server signing off (${left} messages left)`,
  ok: '+OK',
  capaFollows: '+OK Capability list follows',
  userOk: '+OK Send your password',
  loggedIn: (messages: number, octets: number) => `+OK Maildrop has ${messages} messages (${octets} octets)`,
  stat: (messages: number, octets: number) => `+OK ${messages} ${octets}`,
  listFollows: (messages: number, octets: number) => `+OK ${messages} messages (${octets} octets)`,
  scanListing: (n: number, size: number) => `+OK ${n} ${size}`,
  uidlListing: (n: number, uid: string) => `+OK ${n} ${uid}`,
  uidlFollows: '+OK Unique-id listing follows',
  retr: (octets: number) => `+OK ${octets} octets`,
  top: '+OK Top of message follows',
  deleted: (n: number) => `+OK Message ${n} deleted`,
  reset: (messages: number, octets: number) => `+OK Maildrop has ${messages} messages (${octets} octets)`,
  stls: '+OK Begin TLS negotiation',
  // RFC 5034 4: "+ " then the base64 challenge (empty for PLAIN).
  saslChallenge: (b64: string) => `+ ${b64}`,
  authOk: '+OK Authenticated',
  mechanismsFollow: '+OK Mechanisms follow',

  unknownCommand: '-ERR Unknown command',
  badCharacters: '-ERR Invalid characters in command',
  syntax: '-ERR Syntax error in arguments',
  lineTooLong: '-ERR Line too long',
  wrongState: '-ERR Command not valid in this state',
  noSuchMessage: '-ERR No such message',
  alreadyDeleted: (n: number) => `-ERR Message ${n} is deleted`,
  userFirst: '-ERR USER first',
  // RFC 2595 4: STLS only in AUTHORIZATION state and only once.
  tlsActive: '-ERR Command not permitted when TLS active',
  plaintextDisallowed: '-ERR [AUTH] Plaintext authentication disallowed without TLS',
  authFailed: '-ERR [AUTH] Authentication failed',
  // RFC 3206 4: SYS/TEMP, a problem that may go away; the client should try later.
  throttled: '-ERR [SYS/TEMP] Too many failures; try later',
  inUse: '-ERR [IN-USE] Mailbox locked by another session',
  noMaildrop: '-ERR [SYS/PERM] No maildrop for this user',
  maildropUnavailable: '-ERR [SYS/TEMP] Maildrop temporarily unavailable',
  messageUnavailable: (n: number) => `-ERR [SYS/TEMP] Message ${n} temporarily unavailable`,
  unknownMechanism: '-ERR Unrecognized authentication type',
  authCancelled: '-ERR Authentication cancelled',
  authMalformed: (why: string) => `-ERR Invalid authentication response: ${why}`,
  // RFC 1939 6: "-ERR some deleted messages not removed".
  notRemoved: '-ERR [SYS/TEMP] Some deleted messages not removed',
  idleTimeout: '-ERR Idle timeout, closing connection',
  loginTimeout: (s: number) => `-ERR [SYS/TEMP] No login within ${s} seconds, closing connection`,
  commandTimeout: (s: number) => `-ERR Command line not completed within ${s} seconds, closing connection`,
  // RFC 3206 4: SYS/TEMP, the client may try again later.
  tooManyConnections: '-ERR [SYS/TEMP] Too many connections; try again later',
  tooManyFromAddress: '-ERR [SYS/TEMP] Too many connections from your address; try again later',
  tooManyErrors: '-ERR Too many errors, closing connection',
  internal: '-ERR [SYS/TEMP] Internal error, closing connection',
  storeUnavailable: '-ERR [SYS/TEMP] Mail store temporarily unavailable, try again later',
  shuttingDown: '-ERR [SYS/TEMP] Server shutting down',
} as const;
