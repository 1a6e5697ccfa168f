import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { userByName } from './passwd.js';

/**
 * `correo init` as root makes the user the server drops to (issue 9 item 5): a system
 * account with no login shell whose home is the data directory, as Debian's packages do
 * for postfix or dovecot. Returns what it did, for the message.
 */
export function ensureSystemUser(name: string, home: string): string {
  if (userByName(name)) return `user ${name} exists`;
  const shell = ['/usr/sbin/nologin', '/sbin/nologin', '/bin/false'].find((s) => existsSync(s)) ?? '/bin/false';
  const r = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', home, '--shell', shell, name], { encoding: 'utf8' });
  // 9: created meanwhile by someone else (two inits at once).
  if (r.status !== 0 && r.status !== 9) {
    throw new Error(`cannot create the system user ${name} (useradd: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}); create it yourself or set [server] user`);
  }
  return `created system user ${name} (home ${home}, no login shell)`;
}
