import type { Config } from '../config/types.js';
import { secureDataDir } from './data-dir.js';
import { checkReachable, dropRoot } from './drop.js';
import { isRoot, userByName } from './passwd.js';

/**
 * The commands that write data_dir (user, queue, stats, forward, mailq as root) run as the
 * server's user, so that whatever they create (a database journal, a forward list) belongs
 * to it, 0600, and the server can read it (issue 9 items 4 and 5). Root makes data_dir first
 * when it does not exist yet (a fresh install, before the first start). Without the user
 * (not created yet) they stay root; the server refuses to start anyway until it exists.
 */
export function runAsServerUser(cfg: Config): void {
  process.umask(0o077);
  if (!isRoot()) return;
  const u = userByName(cfg.server.user);
  if (!u || u.uid === 0) return;
  checkReachable(cfg.data_dir, cfg.sendmail.maildrop, u);
  secureDataDir(cfg.data_dir, { owner: { uid: u.uid, gid: u.gid }, maildrop: cfg.sendmail.maildrop, keep: cfg.file ? [cfg.file] : [] });
  dropRoot(u);
}
