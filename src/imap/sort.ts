import type { Args } from './args.js';
import { bad } from './errors.js';
import type { SelectedMailbox, ViewMessage } from './selected.js';
import type { MimeTree, ByteString } from '../mime/types.js';
import { parseAddressFields } from '../mime/address.js';
import { parseMessageDate } from '../mime/date.js';
import { baseSubject as mimeBaseSubject, decodeEncodedWords, foldCase } from '../mime/text.js';
import { byteStringToText } from '../mime/charset.js';

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

/** RFC 5256 2.1 base subject, case-folded, and whether the subject was a reply or forward. */
export function baseSubject(raw: ByteString | undefined): { base: string; reply: boolean } {
  if (raw === undefined) return { base: '', reply: false };
  const base = mimeBaseSubject(raw);
  const full = decodeEncodedWords(raw).replace(/[ \t\r\n]+/g, ' ').replace(/(?: |\(fwd\))+$/i, '').trim();
  // (1)-(6) removed something that marks a reply or a forward.
  const reply = /^(?:\[[^[\]]*\] *)*(?:re|fwd?) *(?:\[[^[\]]*\] *)?:/i.test(full) || /^\[fwd:/i.test(full) || /\(fwd\)\s*$/i.test(raw);
  return { base: foldCase(base), reply };
}

/** RFC 5256 2.2: the Date header's instant; the internal date when it is missing or invalid. */
export function sortDate(tree: MimeTree, m: ViewMessage): number {
  const d = tree.root.env?.date;
  const p = d === undefined ? null : parseMessageDate(d);
  return p ? p.time : m.internalDate;
}

/**
 * FROM/TO/CC (RFC 5256: the first address's mailbox) and DISPLAY* (RFC 5957: its decoded
 * display name, else the address). A group comes first as its name, as ENVELOPE writes it.
 */
function addressKey(values: ByteString[] | undefined, display: boolean): string {
  const a = parseAddressFields(values)[0];
  if (!a) return '';
  if (a.group === 'start') return foldCase(byteStringToText(a.mailbox ?? ''));
  if (a.group === 'end') return '';
  if (display) {
    const name = a.name === null ? '' : decodeEncodedWords(a.name).trim();
    if (name) return foldCase(name);
    return foldCase(byteStringToText((a.mailbox ?? MISSING) + (a.host === null ? '' : '@' + a.host)));
  }
  return foldCase(byteStringToText(a.mailbox || MISSING));
}

/** What ENVELOPE shows for a mailbox that is not there (src/mime, as Dovecot): sorted the same way. */
const MISSING = 'MISSING_MAILBOX';

/** Messages whose header keys are computed per round: their trees fit the tree cache (mimeview.ts). */
const KEY_CHUNK = 2000;

/** The key of one criterion for message m (tree needed unless ARRIVAL/SIZE). */
function keyOf(c: string, m: ViewMessage, t: MimeTree | null): string | number {
  const env = t?.root.env ?? {};
  switch (c) {
    case 'ARRIVAL': return m.internalDate;
    case 'SIZE': return m.size;
    case 'DATE': return sortDate(t!, m);
    case 'SUBJECT': return baseSubject(env.subject).base;
    case 'FROM': return addressKey(env.from, false);
    case 'TO': return addressKey(env.to, false);
    case 'CC': return addressKey(env.cc, false);
    case 'DISPLAYFROM': return addressKey(env.from, true);
    default: return addressKey(env.to, true);
  }
}

/**
 * RFC 5256 SORT. Header-derived keys are kept per mailbox (SelectedMailbox.sortKeyCache), so
 * a mailbox's trees are read once while it is selected, in rounds of KEY_CHUNK messages whose
 * trees `preload` loads with one query.
 */
export async function sortMessages(idx: number[], box: SelectedMailbox, criteria: SortKey[], tree: (m: ViewMessage) => Promise<MimeTree>, preload: (ms: ViewMessage[]) => Promise<void> = async () => undefined): Promise<number[]> {
  const fromTree = [...new Set(criteria.map((c) => c.key).filter((k) => k !== 'ARRIVAL' && k !== 'SIZE'))];
  const caches = new Map(fromTree.map((k) => [k, box.sortKeyCache(k)]));
  const missing = idx.filter((i) => fromTree.some((k) => !caches.get(k)!.has(box.uidAt(i))));
  for (let at = 0; at < missing.length; at += KEY_CHUNK) {
    const ms = missing.slice(at, at + KEY_CHUNK).map((i) => box.msg(i));
    await preload(ms);
    for (const m of ms) {
      const t = await tree(m);
      for (const k of fromTree) caches.get(k)!.set(m.uid, keyOf(k, m, t));
    }
  }
  const keys: (string | number)[][] = new Array(idx.length);
  const pos = new Map<number, number>();
  idx.forEach((i, n) => {
    pos.set(i, n);
    const uid = box.uidAt(i);
    keys[n] = criteria.map((c) => (c.key === 'ARRIVAL' || c.key === 'SIZE' ? keyOf(c.key, box.msg(i), null) : caches.get(c.key)!.get(uid)!));
  });
  return [...idx].sort((a, b) => {
    const ka = keys[pos.get(a)!], kb = keys[pos.get(b)!];
    for (let j = 0; j < criteria.length; j++) {
      const x = ka[j], y = kb[j];
      const c = x < y ? -1 : x > y ? 1 : 0;
      if (c) return criteria[j].reverse ? -c : c;
    }
    return a - b; // RFC 5256 3: ties go by sequence number
  });
}
