/**
 * Just enough RFC 5322 3.4 address parsing for SORT: the first mailbox of an address list,
 * with its display name (raw octets, comments removed) and its local part and domain.
 */
export interface Addr { name: string | null; mailbox: string; host: string }

export function firstAddress(value: string): Addr | null {
  const s = stripComments(value).trim();
  if (!s) return null;
  // group "name: a, b;" -> its first member
  const g = /^[^"<,]*?:(.*)$/s.exec(s);
  // In ENVELOPE terms a group starts with (NIL NIL "name" NIL): its name is the first mailbox.
  if (g && !/^[^<]*@/.test(s.slice(0, s.indexOf(':')))) return { name: null, mailbox: s.slice(0, s.indexOf(':')).trim(), host: '' };
  const angle = /^\s*((?:"(?:[^"\\]|\\.)*"|[^<,"])*)<([^>]*)>/s.exec(s);
  if (angle) {
    const name = angle[1].trim().replace(/^"(.*)"$/s, '$1').replace(/\\(.)/g, '$1');
    return { name: name || null, ...splitAddr(angle[2]) };
  }
  const first = splitTopLevel(s)[0] ?? s;
  return { name: null, ...splitAddr(first) };
}

function splitAddr(a: string): { mailbox: string; host: string } {
  const t = a.replace(/^@[^:]*:/, '').trim(); // obsolete route
  const at = t.lastIndexOf('@');
  const local = (at < 0 ? t : t.slice(0, at)).replace(/^"(.*)"$/s, '$1');
  return { mailbox: local, host: at < 0 ? '' : t.slice(at + 1) };
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let cur = '', q = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"' && s[i - 1] !== '\\') q = !q;
    if (ch === ',' && !q) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function stripComments(s: string): string {
  let out = '', depth = 0, q = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\' && i + 1 < s.length) {
      if (!depth) out += ch + s[i + 1];
      i++;
      continue;
    }
    if (ch === '"' && !depth) q = !q;
    if (!q && ch === '(') depth++;
    else if (!q && ch === ')' && depth) depth--;
    else if (!depth) out += ch;
  }
  return out;
}
