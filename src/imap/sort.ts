import type { Args } from './args.js';
import { bad } from './errors.js';
import type { SelectedMailbox, ViewMessage } from './selected.js';
import { headerEnd } from './message.js';
import { decodeWords, fold, headerValues, unfold } from './text.js';
import { parseRfc5322Date } from './content.js';
import { firstAddress } from './address.js';

/** RFC 5256 3 sort keys, with RFC 5957 DISPLAYFROM / DISPLAYTO. */
export interface SortKey { key: string; reverse: boolean }

const KEYS = ['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO'];

export function parseSortCriteria(l: Args): SortKey[] {
  const out: SortKey[] = [];
  let reverse = false;
  while (!l.done) {
    const k = l.keyword('sort key');
    if (k === 'REVERSE') {
      if (reverse) throw bad('REVERSE twice');
      reverse = true;
      continue;
    }
    if (!KEYS.includes(k)) throw bad(`unknown sort key ${k}`);
    out.push({ key: k, reverse });
    reverse = false;
  }
  if (reverse || !out.length) throw bad('incomplete sort criteria');
  return out;
}

/** RFC 5256 2.1: the base subject, and whether the original was a reply or forward. */
export function baseSubject(raw: string): { base: string; reply: boolean } {
  let s = decodeWords(unfold(raw)).replace(/[\t\r\n ]+/g, ' ').trim();
  let reply = false;
  for (;;) {
    let prev: string;
    // (2) trailers "(fwd)" and white space
    do {
      prev = s;
      s = s.replace(/\s*\(fwd\)\s*$/i, '').replace(/\s+$/, '');
    } while (s !== prev);
    // (3)-(5) leaders "[blob] Re:" and lone blobs
    do {
      prev = s;
      const m = /^((?:\[[^[\]]*\]\s*)*)(?:re|fwd?)\s*(?:\[[^[\]]*\]\s*)?:\s*/i.exec(s);
      if (m) {
        s = s.slice(m[0].length);
        reply = true;
      }
      const b = /^\[[^[\]]*\]\s*/.exec(s);
      if (b && s.length > b[0].length) s = s.slice(b[0].length);
    } while (s !== prev);
    // (6) "[fwd: ...]"
    const f = /^\[fwd:\s*(.*)\]$/is.exec(s);
    if (f) {
      s = f[1];
      reply = true;
      continue;
    }
    break;
  }
  return { base: fold(s), reply };
}

/** The sent date in ms (Date header), or the internal date when there is no valid Date (RFC 5256 2.2). */
export function sortDate(header: string, m: ViewMessage): number {
  const v = headerValues(header, 'date')[0];
  const p = v ? parseRfc5322Date(v) : null;
  return p ? p.ms : m.internalDate;
}

function addressKey(header: string, field: string, display: boolean): string {
  const v = headerValues(header, field);
  const a = v.length ? firstAddress(v.join(', ')) : null;
  if (!a) return '';
  if (display) return fold(a.name ? decodeWords(a.name) : a.mailbox + (a.host ? '@' + a.host : ''));
  return fold(a.mailbox);
}

export async function sortMessages(idx: number[], box: SelectedMailbox, criteria: SortKey[], read: (m: ViewMessage) => Promise<Buffer>): Promise<number[]> {
  const needsHeader = criteria.some((c) => !['ARRIVAL', 'SIZE'].includes(c.key));
  const keys = new Map<number, (string | number)[]>();
  for (const i of idx) {
    const m = box.msgs[i];
    let header = '';
    if (needsHeader) {
      try {
        const raw = await read(m);
        header = raw.subarray(0, headerEnd(raw)).toString('latin1');
      } catch {
        /* expunged meanwhile: sorts with empty keys */
      }
    }
    keys.set(i, criteria.map((c) => {
      switch (c.key) {
        case 'ARRIVAL': return m.internalDate;
        case 'SIZE': return m.size;
        case 'DATE': return sortDate(header, m);
        case 'SUBJECT': return baseSubject(headerValues(header, 'subject')[0] ?? '').base;
        case 'FROM': return addressKey(header, 'from', false);
        case 'TO': return addressKey(header, 'to', false);
        case 'CC': return addressKey(header, 'cc', false);
        case 'DISPLAYFROM': return addressKey(header, 'from', true);
        default: return addressKey(header, 'to', true);
      }
    }));
  }
  return [...idx].sort((a, b) => {
    const ka = keys.get(a)!, kb = keys.get(b)!;
    for (let j = 0; j < criteria.length; j++) {
      const x = ka[j], y = kb[j];
      const c = x < y ? -1 : x > y ? 1 : 0;
      if (c) return criteria[j].reverse ? -c : c;
    }
    return a - b; // RFC 5256 3: ties go by sequence number
  });
}
