import { ConfigError } from '../config/errors.js';
import { parseTarget, type MapTarget } from '../delivery/targets.js';
import { mapLines, splitKeyValue } from './lines.js';

/**
 * sendmail's virtusertable (S21, cf/README "virtusertable"):
 *
 *   info@virtual.test        usr1                     a local user (or alias)
 *   sales@virtual.test       boss@remote.test         any address
 *   user+*@virtual.test      %1-detail@example.test   plus-addressed forms of user
 *   @virtual.test            %1@example.test          every other address of the domain
 *   @old.test                error:nouser 5.1.1 This domain has moved
 *   gone@virtual.test        new@where.test.REDIRECT  (S22)
 *
 * Lookup order for user+detail@domain: that exact address, user+*@domain, user@domain,
 * @domain. In the target %1 is the user (without +detail), %2 the detail and %3 "+detail".
 * Every domain named on the left is a virtual domain: mail to it is accepted as local.
 */

export interface VirtualEntry {
  key: string;
  target: string;
  parsed: MapTarget;
  line: number;
}

export class Virtusertable {
  readonly entries = new Map<string, VirtualEntry>();
  readonly domains = new Set<string>();

  constructor(readonly file: string | null = null) {}

  get size(): number {
    return this.entries.size;
  }

  /** The target for an address, with %n substituted; undefined when the table says nothing. */
  lookup(address: string): { target: MapTarget; entry: VirtualEntry } | undefined {
    const at = address.lastIndexOf('@');
    if (at < 0) return undefined;
    const local = address.slice(0, at);
    const domain = address.slice(at + 1).toLowerCase();
    if (!this.domains.has(domain)) return undefined;
    const plus = local.indexOf('+');
    const user = plus > 0 ? local.slice(0, plus) : local;
    const detail = plus > 0 ? local.slice(plus + 1) : '';
    const keys = [`${local.toLowerCase()}@${domain}`];
    if (plus > 0) keys.push(`${user.toLowerCase()}+*@${domain}`, `${user.toLowerCase()}@${domain}`);
    keys.push(`@${domain}`);
    for (const k of keys) {
      const e = this.entries.get(k);
      if (!e) continue;
      const text = e.target.replace(/%([123])/g, (_, n: string) => (n === '1' ? user : n === '2' ? detail : detail ? `+${detail}` : ''));
      const target = parseTarget(text);
      // A substitution can only make an address-shaped target invalid through odd input.
      if (typeof target === 'string') return { target: { kind: 'error', code: 550, enhanced: '5.1.3', text: `bad address after substitution: ${target}` }, entry: e };
      return { target, entry: e };
    }
    return undefined;
  }
}

const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

export function parseVirtusertable(text: string, file: string): Virtusertable {
  const table = new Virtusertable(file);
  for (const { n, text: line } of mapLines(text)) {
    const [key, target] = splitKeyValue(line);
    if (!target) throw new ConfigError(file, n, `"${key}" has no target; write e.g. "${key} user@example.test"`);
    const at = key.lastIndexOf('@');
    if (at < 0) throw new ConfigError(file, n, `"${key}" must be user@domain or @domain`);
    const domain = key.slice(at + 1).toLowerCase();
    if (!DOMAIN.test(domain)) throw new ConfigError(file, n, `"${domain}" in "${key}" is not a domain`);
    const local = key.slice(0, at);
    if (/\s/.test(local)) throw new ConfigError(file, n, `"${key}": the local part has white space`);
    const parsed = parseTarget(target.replace(/%[123]/g, 'x'));
    if (typeof parsed === 'string') throw new ConfigError(file, n, parsed);
    if (parsed.kind === 'program' || parsed.kind === 'file' || parsed.kind === 'include') {
      throw new ConfigError(file, n, `"${target}": programs, files and :include: belong in the aliases file; point this entry at an alias`);
    }
    if (/%[^123]/.test(target)) throw new ConfigError(file, n, `"${target}": only %1, %2 and %3 can be substituted`);
    const norm = `${local.toLowerCase()}@${domain}`;
    const dup = table.entries.get(norm);
    if (dup) throw new ConfigError(file, n, `"${key}" is already listed on line ${dup.line}`);
    table.entries.set(norm, { key, target, parsed, line: n });
    table.domains.add(domain);
  }
  return table;
}
