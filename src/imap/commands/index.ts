import type { CommandSpec } from '../session.js';
import { anyState } from './any.js';
import { authCommands } from './auth.js';
import { mailboxCommands } from './mailbox.js';
import { expungeCommands } from './expunge.js';
import { appendCommands } from './append.js';
import { fetchCommands } from './fetch.js';
import { flagCommands } from './flags.js';
import { copyCommands } from './copy.js';
import { idleCommands } from './idle.js';
import { searchCommands } from './search.js';
import { quotaCommands } from './quota.js';
import { aclCommands } from './acl.js';
import { compressCommands } from './compress.js';

/** Every verb the server knows, with the states it is allowed in (RFC 9051 6). */
export const COMMANDS: Record<string, CommandSpec> = {
  ...anyState,
  ...authCommands,
  ...mailboxCommands,
  ...expungeCommands,
  ...appendCommands,
  ...fetchCommands,
  ...flagCommands,
  ...copyCommands,
  ...idleCommands,
  ...searchCommands,
  ...quotaCommands,
  ...aclCommands,
  ...compressCommands,
};
