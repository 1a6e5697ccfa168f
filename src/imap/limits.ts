import type { ImapConfig } from '../config/types.js';
import { LITERAL_MINUS_MAX, type ParserLimits } from './parser.js';

/**
 * The parser's limits before and after login. A stranger may only send what LOGIN,
 * AUTHENTICATE, ID and STARTTLS need, so that an unauthenticated connection costs a few KiB at
 * most (issue 9 item 1: `a LOGIN {52428800}` used to be accepted before login). Non-synchronising
 * literals follow RFC 7888 LITERAL- until login (4096 octets), LITERAL+ after it.
 */
export function limitsBeforeLogin(cfg: ImapConfig): ParserLimits {
  const command = cfg.max_command_before_login;
  return {
    maxLineLength: Math.min(cfg.max_line_length, command),
    maxLiteralSize: Math.min(cfg.max_literal_before_login, command),
    maxNonSyncLiteralSize: LITERAL_MINUS_MAX,
    maxLiterals: cfg.max_literals_before_login,
    maxCommandSize: command,
    maxDepth: 8,
    hangUpOnLongLine: true,
  };
}

/** After login: APPENDLIMIT per literal, MULTIAPPEND's many literals, two APPENDLIMITs per command. */
export function limitsAfterLogin(cfg: ImapConfig): ParserLimits {
  return {
    maxLineLength: cfg.max_line_length,
    maxLiteralSize: cfg.max_literal_size,
    maxLiterals: 1000,
    maxCommandSize: cfg.max_literal_size * 2 + cfg.max_line_length,
    maxDepth: 32,
  };
}
