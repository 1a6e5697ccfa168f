import { lstatSync, realpathSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import type { DeliveryConfig } from '../config/types.js';
import { userByName, userByUid } from '../privileges/passwd.js';
import { readIncludeFile } from './include-file.js';
import { parseTarget } from './targets.js';

/**
 * Who a program or file delivery runs as (issue 9 item 2), decided from the admin's config
 * and the files themselves, never root:
 *
 *   |program in the aliases file, a forward list, local_mailer   program_user
 *   |program in an :include: file                                 the file's owner (root's: program_user)
 *   /file in an :include: file of a user                          that user, anywhere that user may write
 *   /file in the aliases file or root's :include: file            only inside [delivery] file_dirs, as the
 *                                                                 existing file's owner, else program_user
 *
 * The privileged helper (delivery/helper-main.ts) decides again from the same files: what
 * the unprivileged server asks for is checked, not believed.
 */

/** What the resolver found, as the helper receives it. */
export interface ExternalRequestTarget {
  kind: 'program' | 'file';
  /** The command (program) or absolute path (file), as written. */
  value: string;
  origin: 'aliases' | 'include' | 'forward' | 'mailer';
  /** The :include: file that named it (origin "include"). */
  include?: string;
}

export interface Identity {
  uid: number;
  gid: number;
  name: string;
}

/** An identity, or a refusal: `log` says why for the admin, the sender only gets a generic text. */
export type RunAsDecision = { ok: true; who: Identity } | { ok: false; status: string; log: string; identityOnly?: boolean };

function within(dir: string, path: string): boolean {
  const r = relative(dir, path);
  return r !== '' && !r.startsWith('..') && !r.startsWith(sep);
}

function programUser(cfg: DeliveryConfig): RunAsDecision {
  const u = userByName(cfg.program_user);
  if (!u || u.uid === 0) return { ok: false, status: '4.3.5', log: `program_user ${cfg.program_user} does not exist or is root`, identityOnly: true };
  return { ok: true, who: { uid: u.uid, gid: u.gid, name: u.name } };
}

/** A file target of the admin's own files: inside file_dirs (symbolic links resolved), never a link itself. */
function adminFile(path: string, cfg: DeliveryConfig): RunAsDecision {
  const abs = resolve(path);
  let parent: string;
  try {
    parent = realpathSync(dirname(abs));
  } catch {
    return { ok: false, status: '5.3.5', log: `${path}: its directory does not exist` };
  }
  const real = resolve(parent, abs.slice(dirname(abs).length + 1));
  const allowed = cfg.file_dirs.some((d) => {
    try {
      return within(realpathSync(d), real);
    } catch {
      return false;
    }
  });
  if (!allowed) return { ok: false, status: '5.7.1', log: `${path} is not inside [delivery] file_dirs (${cfg.file_dirs.join(', ') || 'none set'})` };
  try {
    const st = lstatSync(real);
    if (!st.isFile()) return { ok: false, status: '5.3.5', log: `${path} is not a plain file` };
    if (st.uid !== 0) {
      const owner = userByUid(st.uid);
      return { ok: true, who: { uid: st.uid, gid: owner?.gid ?? st.gid, name: owner?.name ?? `uid${st.uid}` } };
    }
  } catch {
    // Not there yet: created by program_user.
  }
  return programUser(cfg);
}

/** Whether the include file lists exactly this target. */
function listed(items: string[], t: ExternalRequestTarget): boolean {
  return items.some((item) => {
    const p = parseTarget(item);
    return typeof p !== 'string' && p.kind === t.kind && (p.kind === 'program' ? p.command : p.kind === 'file' ? p.path : null) === t.value;
  });
}

export function decideRunAs(t: ExternalRequestTarget, cfg: DeliveryConfig): RunAsDecision {
  const d = decide(t, cfg);
  // Root's group would open root's group-writable files: neither id may be 0.
  if (d.ok && (d.who.uid === 0 || d.who.gid === 0)) return { ok: false, status: '5.7.1', log: `${t.value} would run as ${d.who.name} (uid ${d.who.uid}, gid ${d.who.gid}); refused` };
  return d;
}

function decide(t: ExternalRequestTarget, cfg: DeliveryConfig): RunAsDecision {
  if (t.origin === 'forward' && t.kind === 'file') return { ok: false, status: '5.7.1', log: `file delivery ${t.value} from a forward list` };
  if (t.origin !== 'include') return t.kind === 'program' ? programUser(cfg) : adminFile(t.value, cfg);
  if (!t.include) return { ok: false, status: '5.3.5', log: 'an :include: target without its file' };
  const inc = readIncludeFile(t.include);
  if (typeof inc === 'string') return { ok: false, status: '4.3.5', log: inc };
  if (inc.unsafe) return { ok: false, status: '5.7.1', log: `${inc.unsafe}: its files and programs are refused` };
  if (!listed(inc.items, t)) return { ok: false, status: '4.3.5', log: `:include:${t.include} no longer lists ${t.value}` };
  if (inc.uid === 0) return t.kind === 'program' ? programUser(cfg) : adminFile(t.value, cfg);
  const owner = userByUid(inc.uid);
  return { ok: true, who: { uid: inc.uid, gid: owner?.gid ?? inc.gid, name: owner?.name ?? `uid${inc.uid}` } };
}
