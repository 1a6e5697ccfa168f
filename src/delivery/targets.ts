/**
 * What an alias, a virtusertable entry, an :include: file or a forward list may name
 * (aliases(5), sendmail's cf/README), parsed without I/O:
 *
 *   user                       a local name (any local domain's aliases, then the user)
 *   user@domain                an address, local or remote
 *   |/path/program args        a program fed the message on standard input (S19, smrsh)
 *   /path/file                 append the message to a file (mbox format)
 *   :include:/path/list        the addresses listed in that file
 *   new@where.example.REDIRECT FEATURE(redirect), S22: "551 5.1.6 User not local; please try <new@where.example>"
 *   error:nouser 5.1.1 text    a refusal: sysexits name, or D.S.N, or SMTP code, then text
 *   error:5.7.0:550 text       (sendmail's form)
 */

export type MapTarget =
  | { kind: 'address'; address: string }
  | { kind: 'program'; command: string }
  | { kind: 'file'; path: string }
  | { kind: 'include'; path: string }
  | { kind: 'redirect'; address: string }
  | { kind: 'error'; code: number; enhanced: string; text: string };

/** sysexits(3) names sendmail accepts after error:, with the replies it gives for them. */
const SYSEXITS: Record<string, { code: number; enhanced: string; text: string }> = {
  nouser: { code: 550, enhanced: '5.1.1', text: 'User unknown' },
  nohost: { code: 550, enhanced: '5.1.2', text: 'Host unknown' },
  unavailable: { code: 550, enhanced: '5.0.0', text: 'Service unavailable' },
  noperm: { code: 550, enhanced: '5.7.1', text: 'Permission denied' },
  dataerr: { code: 550, enhanced: '5.6.0', text: 'Data format error' },
  software: { code: 554, enhanced: '5.3.0', text: 'Internal software error' },
  protocol: { code: 554, enhanced: '5.5.0', text: 'Remote protocol error' },
  config: { code: 554, enhanced: '5.3.5', text: 'Configuration error' },
  tempfail: { code: 451, enhanced: '4.0.0', text: 'Temporary failure' },
};

export function parseErrorTarget(spec: string): { code: number; enhanced: string; text: string } | string {
  let rest = spec.trim();
  let base: { code: number; enhanced: string; text: string } | null = null;
  const name = /^([a-z]+)(?:\s+|$)/i.exec(rest);
  if (name) {
    base = SYSEXITS[name[1].toLowerCase()] ?? null;
    if (!base) return `unknown error name "${name[1]}" (use ${Object.keys(SYSEXITS).join(', ')}, or a status like 5.1.1)`;
    rest = rest.slice(name[0].length).trim();
  }
  let enhanced: string | null = null;
  let code: number | null = null;
  const dsn = /^([45])\.(\d{1,3})\.(\d{1,3})(?::|\s+|$)/.exec(rest);
  if (dsn) {
    enhanced = `${dsn[1]}.${dsn[2]}.${dsn[3]}`;
    rest = rest.slice(dsn[0].length).trim();
  }
  const c = /^([45]\d\d)(?:\s+|$)/.exec(rest);
  if (c) {
    code = Number(c[1]);
    rest = rest.slice(c[0].length).trim();
    // "553 5.1.3 text": the status after the code.
    const after = /^([45])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/.exec(rest);
    if (after && !enhanced) {
      enhanced = `${after[1]}.${after[2]}.${after[3]}`;
      rest = rest.slice(after[0].length).trim();
    }
  }
  if (!base && !enhanced && code === null) return 'error: needs a status, e.g. error:nouser 5.1.1 text or error:5.7.0:550 text';
  enhanced ??= base?.enhanced ?? (code !== null ? `${String(code)[0]}.0.0` : null);
  code ??= base && base.enhanced[0] === enhanced![0] ? base.code : enhanced![0] === '4' ? 451 : 550;
  if (String(code)[0] !== enhanced![0]) return `error: code ${code} and status ${enhanced} disagree`;
  return { code, enhanced: enhanced!, text: rest || base?.text || 'Refused' };
}

const LOCAL = /^(?:[^\s@"]+|"[^"]*")$/;
const ADDRESS = /^(?:[^\s@"]+|"[^"]*")@(?:[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*|\[[^\]\s]+\])$/i;

/** One target; a string is the problem with it. */
export function parseTarget(text: string): MapTarget | string {
  const t = text.trim();
  if (!t) return 'empty target';
  if (t.startsWith('|')) {
    const command = t.slice(1).trim().replace(/^"(.*)"$/, '$1');
    if (!command) return 'program target "|" names no program';
    return { kind: 'program', command };
  }
  if (t.startsWith('"|')) return parseTarget(t.slice(1).replace(/"$/, ''));
  if (t.startsWith('/')) return { kind: 'file', path: t };
  if (/^:include:/i.test(t)) {
    const path = t.slice(9).trim();
    if (!path.startsWith('/')) return `:include: needs an absolute path, not "${path}"`;
    return { kind: 'include', path };
  }
  if (/^error:/i.test(t)) {
    const e = parseErrorTarget(t.slice(6));
    return typeof e === 'string' ? e : { kind: 'error', ...e };
  }
  const redirect = /^(.+)\.REDIRECT$/i.exec(t);
  if (redirect) {
    if (!ADDRESS.test(redirect[1])) return `"${t}": a redirect is new@address.REDIRECT`;
    return { kind: 'redirect', address: redirect[1] };
  }
  if (t.includes('@')) {
    if (!ADDRESS.test(t) || /[,<>]/.test(t)) return `"${t}" is not an address`;
    const at = t.lastIndexOf('@');
    return { kind: 'address', address: t.slice(0, at) + '@' + t.slice(at + 1).toLowerCase() };
  }
  if (t.startsWith('\\')) {
    // sendmail's "\user": that user's own mailbox, no further alias or forward expansion.
    const name = t.slice(1);
    if (!LOCAL.test(name)) return `"${t}" is not a local name`;
    return { kind: 'address', address: t };
  }
  if (!LOCAL.test(t) || /[,<>]/.test(t)) return `"${t}" is not an address or a local name`;
  return { kind: 'address', address: t };
}

/** A comma-separated list, commas inside double quotes kept (aliases(5), :include: files). */
export function splitList(value: string): string[] | string {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (quoted) return 'unterminated quote';
  if (cur.trim()) out.push(cur.trim());
  return out;
}
