import { ConfigError } from './errors.js';

/**
 * The aliases file in /etc/aliases format (S16, aliases(5)):
 *   name: target, target, ...
 * continuation lines start with white space; '#' starts a comment line. Names are local parts
 * (case-insensitive) and apply to every local domain. Targets are local names, full addresses,
 * or forms later issues add (:include:, /file, |program), refused here with a clear message.
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
  const targets: string[] = [];
  let cur = '', quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      if (cur.trim()) targets.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new ConfigError(file, line, 'unterminated quote');
  if (cur.trim()) targets.push(cur.trim());
  for (const t of targets) {
    if (t.startsWith('|') || t.startsWith('/') || t.toLowerCase().startsWith(':include:')) {
      throw new ConfigError(file, line, `target "${t}": program, file and :include: deliveries are not supported yet`);
    }
    if (/\s/.test(t.replace(/"[^"]*"/g, '')) || /^@|@$|@.*@/.test(t)) throw new ConfigError(file, line, `target "${t}" is not an address or a local name`);
  }
  return targets.map((t) => (t.includes('@') ? t.replace(/@(.*)$/, (_, d: string) => '@' + d.toLowerCase()) : t.toLowerCase()));
}
