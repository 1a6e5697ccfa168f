import { ConfigError } from './errors.js';
import { parseTarget, splitList } from '../delivery/targets.js';

/**
 * The aliases file in /etc/aliases format (S16, aliases(5)):
 *   name: target, target, ...
 * continuation lines start with white space; '#' starts a comment line. Names are local parts
 * (case-insensitive) and apply to every local domain. Targets are local names, full addresses,
 * |programs, /files, :include: lists, new@address.REDIRECT and error: refusals
 * (src/delivery/targets.ts), kept as written here and acted on by recipient resolution.
 */
export type Aliases = Map<string, string[]>;

/** Always present unless the file says otherwise (RFC 5321 4.5.1 requires postmaster). */
export const DEFAULT_ALIASES: [string, string[]][] = [
  ['mailer-daemon', ['postmaster']],
  ['postmaster', ['root']],
];

export function parseAliases(text: string, file: string): Aliases {
  const out: Aliases = new Map();
  const lines = text.split(/\r?\n/);
  let pending: { name: string; value: string; line: number } | null = null;
  const finish = () => {
    if (!pending) return;
    const targets = splitTargets(pending.value, file, pending.line);
    if (!targets.length) throw new ConfigError(file, pending.line, `alias "${pending.name}" has no target`);
    if (out.has(pending.name)) throw new ConfigError(file, pending.line, `alias "${pending.name}" is defined twice`);
    out.set(pending.name, targets);
    pending = null;
  };
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (/^\s*(#|$)/.test(raw)) return;
    if (/^\s/.test(raw)) {
      if (!pending) throw new ConfigError(file, n, 'continuation line without an alias before it');
      pending.value += ' ' + raw.trim();
      return;
    }
    finish();
    const m = /^("[^"]+"|[^:\s]+)\s*:\s*(.*)$/.exec(raw);
    if (!m) throw new ConfigError(file, n, `expected "name: target, ..." but found ${JSON.stringify(raw.slice(0, 60))}`);
    const name = m[1].replace(/^"|"$/g, '').toLowerCase();
    if (name.includes('@')) throw new ConfigError(file, n, `alias name "${name}" must be a local part, without @domain (use a virtusertable for full addresses)`);
    pending = { name, value: m[2], line: n };
  });
  finish();
  for (const [k, v] of DEFAULT_ALIASES) if (!out.has(k)) out.set(k, v);
  return out;
}

function splitTargets(value: string, file: string, line: number): string[] {
  const list = splitList(value);
  if (typeof list === 'string') throw new ConfigError(file, line, list);
  return list.map((t) => {
    const parsed = parseTarget(t);
    if (typeof parsed === 'string') throw new ConfigError(file, line, parsed);
    if (parsed.kind !== 'address') return t.trim();
    // Local names are case-insensitive; a full address keeps its local part and lowers its domain.
    return parsed.address.includes('@') ? parsed.address : parsed.address.toLowerCase();
  });
}
