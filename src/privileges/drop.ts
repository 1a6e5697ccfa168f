import { userByName, type SystemUser } from './passwd.js';
import { dataDirMode, unreachable } from './data-dir.js';

/**
 * Issue 9 item 5: started as root, the server binds its ports, forks the delivery helper
 * (delivery/helper.ts, the one part that keeps root) and then becomes `[server] user` for
 * good: supplementary groups first, then the group, then the user (after setuid the others
 * could no longer be changed). Every parser, TLS and the database then run unprivileged.
 */

export class PrivilegeError extends Error {}

/** The configured user, or a message that says how to create it. */
export function serverUser(name: string): SystemUser {
  const u = userByName(name);
  if (!u) {
    throw new PrivilegeError(
      `[server] user "${name}" does not exist: create it (correo init does, as root: useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin ${name}) or set [server] user to an existing unprivileged user`,
    );
  }
  if (u.uid === 0) throw new PrivilegeError(`[server] user "${name}" has uid 0; it must be an unprivileged user`);
  return u;
}

export function dropRoot(u: SystemUser): void {
  // Only its own group: root's supplementary groups (0 among them) must not survive.
  process.setgroups!([u.gid]);
  process.setgid!(u.gid);
  process.setuid!(u.uid);
  // setuid() that silently kept root would leave everything running as root.
  if (process.getuid!() !== u.uid || process.geteuid!() !== u.uid || process.getgid!() !== u.gid) {
    throw new PrivilegeError(`could not become ${u.name} (uid ${u.uid}); still uid ${process.geteuid!()}`);
  }
}

/**
 * data_dir and the maildrop must be reachable by the user the server becomes; what lies inside
 * data_dir becomes that user's at start, so only data_dir's own path counts for it.
 */
export function checkReachable(dataDir: string, maildrop: string, u: SystemUser): void {
  for (const p of dataDirMode(dataDir, maildrop) === 0o711 ? [dataDir] : [dataDir, maildrop]) {
    const why = unreachable(p, u);
    if (why) throw new PrivilegeError(why);
  }
}
