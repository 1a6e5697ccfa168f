/**
 * Errors a command handler throws, typed by who is at fault (RFC 9051 7.1): the session turns
 * them into the tagged response in one place.
 *   No:  the command was understood but failed (user's or mailbox's state) -> tag NO [CODE]
 *   Bad: the command was malformed or not allowed now                      -> tag BAD [CODE]
 *   Bye: the connection cannot go on                                       -> * BYE, close
 * Anything else is our fault: logged, answered NO [SERVERBUG], the session goes on.
 */

/** RFC 5530 and friends: response codes a client can act on. */
export type ResponseCode =
  | 'ALERT' | 'ALREADYEXISTS' | 'AUTHENTICATIONFAILED' | 'AUTHORIZATIONFAILED' | 'BADCHARSET' | 'CANNOT'
  | 'CLIENTBUG' | 'CONTACTADMIN' | 'EXPUNGEISSUED' | 'INUSE' | 'LIMIT' | 'NONEXISTENT' | 'NOPERM'
  | 'OVERQUOTA' | 'PRIVACYACL' | 'SERVERBUG' | 'TOOBIG' | 'TRYCREATE' | 'UNAVAILABLE' | 'UNKNOWN-CTE'
  | 'PARSE' | 'NOTSAVED' | 'MODIFIED' | 'USEATTR' | 'HASCHILDREN' | 'CLOSED' | 'UIDNOTSTICKY'
  | 'PRIVACYREQUIRED' | 'EXPIRED' | 'BADCOMPARATOR' | 'COMPRESSIONACTIVE' | 'NOTPERMITTED';

export class ImapError extends Error {
  constructor(readonly status: 'NO' | 'BAD' | 'BYE', message: string, readonly code?: string) {
    super(message);
  }
}

export const no = (message: string, code?: ResponseCode | string) => new ImapError('NO', message, code);
export const bad = (message: string, code?: ResponseCode | string) => new ImapError('BAD', message, code);
export const bye = (message: string, code?: ResponseCode | string) => new ImapError('BYE', message, code);

/** Thrown by a handler that already wrote its tagged response (STARTTLS, LOGOUT, IDLE). */
export class Answered extends Error {}
