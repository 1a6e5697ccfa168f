import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/types.js';
import { ConfigError } from '../config/errors.js';
import { lineOf } from '../config/load.js';
import { parseAliases } from '../config/aliases.js';
import { parseMailertable } from '../outbound/mailertable.js';
import { parseSenders } from '../smtp/senders.js';
import { parseAccess } from './access.js';
import { parseLocalHostNames, parseRelayDomains } from './domains.js';
import { parseVirtusertable } from './virtusertable.js';

/**
 * Fail closed at start-up (issue 9 item 10): every file the config names must exist, be
 * readable by this process and parse, or the server does not start. A missing access map
 * used to be an empty map and a bad one was skipped, so REJECT rules vanished silently.
 * While running, src/maps/watched.ts keeps the last good version of a file instead.
 */

interface NamedFile {
  /** Where the config names it: ["maps", "access"]. */
  setting: [string, string];
  path: string;
  /** Throws a ConfigError (FILE:LINE) on a mistake; absent for files that are not maps. */
  parse?: (text: string, file: string) => unknown;
}

/** The files `config` names that the server reads while running, with their parsers. */
export function namedFiles(config: Config): NamedFile[] {
  const m = config.maps;
  const all: [[string, string], string | null, NamedFile['parse']][] = [
    [['maps', 'access'], m.access, parseAccess],
    [['maps', 'aliases'], m.aliases, parseAliases],
    [['maps', 'virtusertable'], m.virtusertable, parseVirtusertable],
    [['maps', 'mailertable'], m.mailertable, parseMailertable],
    [['maps', 'local_host_names'], m.local_host_names, parseLocalHostNames],
    [['maps', 'relay_domains'], m.relay_domains, parseRelayDomains],
    [['submission', 'senders_file'], config.submission.senders_file, parseSenders],
    [['outbound', 'smart_host_auth'], config.outbound.smart_host_auth, undefined],
  ];
  return all.filter((f) => f[1] !== null).map(([setting, path, parse]) => ({ setting, path: path!, parse }));
}

/** Why a named file cannot be read, as the config's FILE:LINE where it is named. */
function unreadable(config: Config, f: NamedFile, e: NodeJS.ErrnoException, uid: number): ConfigError {
  const why =
    e.code === 'ENOENT' ? 'no such file (remove the setting to run without it)'
    : e.code === 'EACCES' ? `permission denied for uid ${uid} (the server must be able to read it)`
    : e.code === 'EISDIR' ? 'is a directory, not a file'
    : e.message;
  let line = 1;
  try {
    if (config.file) line = lineOf(readFileSync(config.file, 'utf8'), f.setting);
  } catch {
    // The config was readable a moment ago; line 1 still names the file.
  }
  return new ConfigError(config.file ?? f.path, line, `[${f.setting[0]}] ${f.setting[1]} = "${f.path}": ${why}`);
}

/** Whom the server will run as: another user when it is about to drop root. */
export interface Reader {
  uid: number;
  gid: number;
}

/**
 * Whether `reader` may read `path` by its mode bits (owner, group, others) and search every
 * directory above it. Supplementary groups are not known here, so a file readable only
 * through one of them counts as unreadable: the check errs on the side of refusing.
 */
function readableBy(path: string, reader: Reader): boolean {
  if (reader.uid === 0) return true;
  const allows = (p: string, bit: number) => {
    const st = statSync(p);
    const shift = st.uid === reader.uid ? 6 : st.gid === reader.gid ? 3 : 0;
    return ((st.mode >> shift) & bit) !== 0;
  };
  for (let d = dirname(path); ; d = dirname(d)) {
    if (!allows(d, 1)) return false;
    if (dirname(d) === d) break;
  }
  return allows(path, 4);
}

/**
 * Throws the first problem: a named file missing, unreadable or with a mistake (FILE:LINE).
 * `reader`: the user the server will read the files as, when that is not this process (root
 * about to drop its privileges); by default, this process.
 */
export function checkNamedFiles(config: Config, reader?: Reader): void {
  const uid = reader?.uid ?? (typeof process.getuid === 'function' ? process.getuid() : -1);
  for (const f of namedFiles(config)) {
    let text: string;
    try {
      if (statSync(f.path).isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
      if (reader && !readableBy(f.path, reader)) throw Object.assign(new Error('mode'), { code: 'EACCES' });
      text = readFileSync(f.path, 'utf8');
    } catch (e) {
      throw unreadable(config, f, e as NodeJS.ErrnoException, uid);
    }
    f.parse?.(text, f.path);
  }
}
