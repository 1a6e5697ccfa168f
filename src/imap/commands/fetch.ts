import type { CommandSpec, Session } from '../session.js';
import type { Args } from '../args.js';
import { formatDateTime } from '../args.js';
import { bad, no } from '../errors.js';
import type { SelectedMailbox, ViewMessage } from '../selected.js';
import { formatSet, inRanges, resolveRanges } from '../sequence.js';
import { withoutNul } from '../message.js';
import { bodyPart, envelopeOf, preloadTrees, readMessage, sectionRange, structureOf, type PartBytes } from '../mimeview.js';
import { enableCondstore } from '../condstore.js';
import type { Piece } from '../writer.js';
import { emailObjectId } from '../objectid.js';

/** A parsed section spec (RFC 9051 6.4.5): part numbers, then what of the part. */
export interface Section {
  part: number[];
  text: '' | 'HEADER' | 'TEXT' | 'MIME' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT';
  fields: string[];
}

type Item =
  | { kind: 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODY' | 'BODYSTRUCTURE' | 'MODSEQ' | 'EMAILID' | 'THREADID' }
  | { kind: 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT' }
  | { kind: 'section'; binary: boolean; peek: boolean; section: Section; partial: { start: number; length: number | null } | null; label: string }
  | { kind: 'binary.size'; section: Section; label: string };

const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

const SECTION_RE = /^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)\[([^\]]*)\](?:<(\d+)(?:\.(\d+))?>)?$/i;

export function parseSection(text: string, binary: boolean): Section {
  const m = /^((?:\d+\.)*\d+)?(?:\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME))?(?:\s+\((.*)\))?$/is.exec(text.trim());
  if (!m || (m[2] && m[1] === undefined && text.trim().startsWith('.'))) throw bad(`invalid section ${JSON.stringify(text)}`);
  const part = m[1] ? m[1].split('.').map(Number) : [];
  if (part.some((n) => n < 1)) throw bad('section part numbers start at 1');
  const kind = (m[2]?.toUpperCase() ?? '') as Section['text'];
  if (m[1] && m[2] && !text.slice(m[1].length).startsWith('.')) throw bad(`invalid section ${JSON.stringify(text)}`);
  if (kind === 'MIME' && !part.length) throw bad('MIME needs a part number');
  const fields: string[] = [];
  if (kind.startsWith('HEADER.FIELDS')) {
    if (m[3] === undefined) throw bad('HEADER.FIELDS needs a list of field names');
    for (const f of m[3].match(/"(?:[^"\\]|\\.)*"|[^\s"]+/g) ?? []) fields.push(f.startsWith('"') ? f.slice(1, -1).replace(/\\(.)/g, '$1') : f);
    if (!fields.length) throw bad('HEADER.FIELDS needs at least one field name');
  } else if (m[3] !== undefined) throw bad(`invalid section ${JSON.stringify(text)}`);
  if (binary && kind) throw bad('BINARY takes part numbers only (RFC 3516)');
  return { part, text: kind, fields };
}

function sectionLabel(s: Section): string {
  const p = s.part.join('.');
  let t = s.text;
  if (t.startsWith('HEADER.FIELDS')) t += ` (${s.fields.map((f) => f.toUpperCase()).join(' ')})` as never;
  return p && t ? `${p}.${t}` : p || t;
}

function parseItems(list: Args, uidCmd: boolean): Item[] {
  const items: Item[] = [];
  const add = (word: string) => {
    const u = word.toUpperCase();
    if (['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'MODSEQ', 'EMAILID', 'THREADID', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT'].includes(u)) {
      items.push({ kind: u } as Item);
      return;
    }
    const m = SECTION_RE.exec(word);
    if (!m) throw bad(`unknown fetch item ${word}`);
    const verb = m[1].toUpperCase();
    const binary = verb.startsWith('BINARY');
    const section = parseSection(m[2], binary);
    if (verb === 'BINARY.SIZE') {
      if (m[3] !== undefined) throw bad('BINARY.SIZE takes no partial');
      items.push({ kind: 'binary.size', section, label: `BINARY.SIZE[${sectionLabel(section)}]` });
      return;
    }
    const partial = m[3] !== undefined ? { start: Number(m[3]), length: m[4] !== undefined ? Number(m[4]) : null } : null;
    if (partial?.length === 0) throw bad('partial length must be positive');
    items.push({
      kind: 'section', binary, peek: verb.endsWith('.PEEK'), section, partial,
      label: `${binary ? 'BINARY' : 'BODY'}[${sectionLabel(section)}]${partial ? `<${partial.start}>` : ''}`,
    });
  };
  while (!list.done) {
    const t = list.take('fetch item');
    if (t.kind !== 'atom') throw bad('fetch items are atoms');
    const u = t.value.toUpperCase();
    if (MACROS[u]) {
      if (list.remaining || items.length) throw bad(`${u} is a macro and stands alone`);
      MACROS[u].forEach(add);
    } else add(t.value);
  }
  if (uidCmd && !items.some((i) => i.kind === 'UID')) items.unshift({ kind: 'UID' });
  return items;
}

/** The octets of a section of a message, before any partial. null: no such part (NIL). */
function sectionBytes(s: Session, m: ViewMessage, raw: Buffer, sec: Section, binary: boolean): Promise<PartBytes | null> {
  return bodyPart(s, m, raw, sec, binary);
}

/** Messages above this size are streamed from their file rather than read into memory. */
const STREAM_OVER = 1 << 20;

/** A piece of a response, or a byte range of a message file to stream in its place. */
type Out = Piece | { blob: string; start: number; end: number };

/** The literal of a section of a large message: its header, then the file range. */
async function streamed(s: Session, m: ViewMessage, sec: Section, partial: { start: number; length: number | null } | null): Promise<Out[]> {
  const r = await sectionRange(s, m, sec);
  if (!r) return ['NIL'];
  if ('bytes' in r) {
    const d = applyPartial(r.bytes, partial);
    return [`{${d.length}}\r\n`, withoutNul(d)];
  }
  let { start, end } = r;
  if (partial) {
    start = Math.min(end, start + partial.start);
    if (partial.length !== null) end = Math.min(end, start + partial.length);
  }
  return [`{${end - start}}\r\n`, { blob: m.blobId, start, end }];
}

/** Writes a response, streaming file ranges in large chunks with the socket's pace. */
async function emit(s: Session, parts: Out[]): Promise<void> {
  for (const p of parts) {
    if (typeof p === 'string' || Buffer.isBuffer(p)) {
      s.out.push(p);
      continue;
    }
    await s.out.flush();
    let sent = 0;
    const want = p.end - p.start;
    if (want > 0) {
      for await (const chunk of s.ctx.blobs.stream(p.blob, p.start, p.end)) {
        const c = (chunk as Buffer).subarray(0, want - sent);
        sent += c.length;
        s.out.push(withoutNul(c));
        await s.out.flush();
        if (sent >= want) break;
      }
    }
    // A file shorter than its record would desynchronise the literal: pad it.
    if (sent < want) s.out.push(Buffer.alloc(want - sent, 0x20));
  }
  await s.out.flush(false);
}

const HEADER: Section = { part: [], text: 'HEADER', fields: [] };
const TEXT: Section = { part: [], text: 'TEXT', fields: [] };

function applyPartial(b: Buffer, p: { start: number; length: number | null } | null): Buffer {
  if (!p) return b;
  if (p.start >= b.length) return b.subarray(0, 0);
  return b.subarray(p.start, p.length === null ? undefined : Math.min(b.length, p.start + p.length));
}

/** RFC 9051 6.4.5 FETCH, RFC 7162 3.1.4 (CHANGEDSINCE) and 3.2.6 (VANISHED), RFC 3516 BINARY. */
async function fetch(s: Session, c: Parameters<CommandSpec['run']>[1]) {
  const box = s.selected!;
  const set = c.args.sequenceSet();
  const items = parseItems(c.args.listOrOne('fetch items'), c.uid);
  let changedSince: number | null = null;
  let vanished = false;
  if (!c.args.done) {
    const mods = c.args.list('fetch modifiers');
    while (!mods.done) {
      const k = mods.keyword('fetch modifier');
      if (k === 'CHANGEDSINCE') changedSince = mods.number('mod-sequence');
      else if (k === 'VANISHED') vanished = true;
      else throw bad(`unknown fetch modifier ${k}`);
    }
  }
  c.args.end();
  if (vanished && (!c.uid || changedSince === null || !s.enabled.has('QRESYNC'))) throw bad('VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC enabled (RFC 7162 3.2.6)');
  if (changedSince !== null || items.some((i) => i.kind === 'MODSEQ')) enableCondstore(s);
  if (changedSince !== null && !items.some((i) => i.kind === 'MODSEQ')) items.push({ kind: 'MODSEQ' });

  if (box.dirty) await s.announce(box, c.uid);
  let idx = box.select(set, c.uid, s.saved);
  if (changedSince !== null) idx = idx.filter((i) => box.modSeqAt(i) > changedSince!);

  if (vanished && set.kind === 'set') {
    const ch = await s.ctx.store.changesSince(box.mailbox.id, changedSince!);
    const ranges = resolveRanges(set.ranges, Math.max(box.maxUid, box.mailbox.uidNext));
    const v = ch.expunged.filter((u) => inRanges(ranges, u));
    if (v.length) s.untagged(`VANISHED (EARLIER) ${formatSet(v)}`);
  }

  // RFC 9051 6.4.5: BODY[...] without .PEEK sets \Seen; do it for the whole set in one update.
  const setsSeen = items.some((i) => (i.kind === 'section' && !i.peek) || i.kind === 'RFC822' || i.kind === 'RFC822.TEXT');
  const seenNow = new Set<number>();
  if (setsSeen && !box.readOnly && box.rights.includes('s')) {
    const uids = idx.filter((i) => !box.isExpunged(i) && !box.hasFlag(i, '\\Seen')).map((i) => box.uidAt(i));
    if (uids.length) {
      const res = await s.ctx.store.updateFlags(box.mailbox.id, uids, 'add', ['\\Seen']);
      for (const rec of res.changed) {
        const i = box.indexOfUid(rec.uid);
        if (i >= 0) {
          box.setFlags(i, rec.flags, rec.modSeq);
          seenNow.add(rec.uid);
        }
      }
      if (res.changed.length) s.shared.notifier.changed(box.mailbox.id);
    }
  }

  if (!setsSeen && items.every((i) => VIEW_ITEMS.has(i.kind))) return fetchFromView(s, box, idx, items);
  const needsRaw = items.some((i) => i.kind === 'section' || i.kind === 'binary.size' || i.kind.startsWith('RFC822') && i.kind !== 'RFC822.SIZE');
  const needsMime = needsRaw || items.some((i) => i.kind === 'ENVELOPE' || i.kind === 'BODY' || i.kind === 'BODYSTRUCTURE');
  // One query for the MIME trees of the whole set, not one per message.
  if (needsMime) await preloadTrees(s.ctx.store, idx.map((i) => box.msg(i)));
  let gone = 0;
  for (const i of idx) {
    const m = box.msg(i);
    let raw: Buffer | null = null;
    // Large messages are not read whole: their sections stream from the file (BINARY excepted).
    const big = m.size > STREAM_OVER && !items.some((x) => (x.kind === 'section' && x.binary) || x.kind === 'binary.size');
    if (needsRaw && !big) {
      try {
        raw = await readMessage(s.ctx.blobs, m);
      } catch {
        gone++;
        continue;
      }
    }
    const out: Out[] = [`* ${i + 1} FETCH (`];
    let first = true;
    const sep = () => {
      if (!first) out.push(' ');
      first = false;
    };
    const condstore = s.enabled.has('CONDSTORE');
    for (const it of items) {
      sep();
      switch (it.kind) {
        case 'UID': out.push(`UID ${m.uid}`); break;
        case 'FLAGS': out.push(`FLAGS (${m.flags.join(' ')})`); break;
        case 'INTERNALDATE': out.push(`INTERNALDATE "${formatDateTime(m.internalDate)}"`); break;
        case 'RFC822.SIZE': out.push(`RFC822.SIZE ${m.size}`); break;
        case 'MODSEQ': out.push(`MODSEQ (${m.modSeq})`); break;
        case 'EMAILID': out.push(`EMAILID (${emailObjectId(m.blobId)})`); break; // RFC 8474 5.1
        case 'THREADID': out.push('THREADID NIL'); break; // RFC 8474 5.2: no thread ids
        case 'ENVELOPE': out.push('ENVELOPE ', await envelopeOf(s, m)); break;
        case 'BODY': out.push('BODY ', await structureOf(s, m, false)); break;
        case 'BODYSTRUCTURE': out.push('BODYSTRUCTURE ', await structureOf(s, m, true)); break;
        case 'RFC822':
          if (big) out.push(`RFC822 {${m.size}}\r\n`, { blob: m.blobId, start: 0, end: m.size });
          else out.push(`RFC822 {${raw!.length}}\r\n`, withoutNul(raw!));
          break;
        case 'RFC822.HEADER': {
          if (big) {
            out.push('RFC822.HEADER ', ...(await streamed(s, m, HEADER, null)));
            break;
          }
          const h = (await sectionBytes(s, m, raw!, HEADER, false))!.bytes;
          out.push(`RFC822.HEADER {${h.length}}\r\n`, withoutNul(h));
          break;
        }
        case 'RFC822.TEXT': {
          if (big) {
            out.push('RFC822.TEXT ', ...(await streamed(s, m, TEXT, null)));
            break;
          }
          const t = (await sectionBytes(s, m, raw!, TEXT, false))!.bytes;
          out.push(`RFC822.TEXT {${t.length}}\r\n`, withoutNul(t));
          break;
        }
        case 'binary.size': {
          const b = await sectionBytes(s, m, raw!, it.section, true);
          if (b?.unknownCte) throw no(`unknown Content-Transfer-Encoding in part ${it.section.part.join('.')}`, 'UNKNOWN-CTE');
          out.push(`${it.label} ${b ? b.bytes.length : 0}`);
          break;
        }
        case 'section': {
          if (big) {
            out.push(`${it.label} `, ...(await streamed(s, m, it.section, it.partial)));
            break;
          }
          const b = await sectionBytes(s, m, raw!, it.section, it.binary);
          if (b?.unknownCte) throw no(`unknown Content-Transfer-Encoding in part ${it.section.part.join('.')}`, 'UNKNOWN-CTE');
          if (!b) {
            out.push(`${it.label} NIL`);
            break;
          }
          const data = applyPartial(b.bytes, it.partial);
          if (it.binary) {
            // RFC 3516 4.3: literal8 for decoded data.
            out.push(`${it.label} ${b.binary || data.indexOf(0) >= 0 ? '~' : ''}{${data.length}}\r\n`, data);
          } else out.push(`${it.label} {${data.length}}\r\n`, withoutNul(data));
          break;
        }
      }
    }
    if (seenNow.has(m.uid) && !items.some((x) => x.kind === 'FLAGS')) out.push(` FLAGS (${m.flags.join(' ')})`);
    if (seenNow.has(m.uid) && condstore && !items.some((x) => x.kind === 'MODSEQ')) out.push(` MODSEQ (${m.modSeq})`);
    out.push(')\r\n');
    await emit(s, out);
  }
  if (gone) throw no(`${gone} of the messages were expunged meanwhile`, 'EXPUNGEISSUED');
}

/** Items the session's view of the mailbox answers alone: no store, no MIME tree, no file. */
const VIEW_ITEMS = new Set<Item['kind']>(['UID', 'FLAGS', 'MODSEQ', 'INTERNALDATE', 'RFC822.SIZE']);

/**
 * FETCH of view items only (a client's `FETCH 1:* (UID FLAGS)` resync, issue 10): the lines
 * are built as strings straight from the view's columns and written in 64 KiB pieces, without
 * an object per message or a wait per message; memory stays one piece whatever the mailbox size.
 */
async function fetchFromView(s: Session, box: SelectedMailbox, idx: number[], items: Item[]): Promise<void> {
  let chunk = '';
  for (const i of idx) {
    let line = `* ${i + 1} FETCH (`;
    for (let k = 0; k < items.length; k++) {
      if (k) line += ' ';
      switch (items[k].kind) {
        case 'UID': line += `UID ${box.uidAt(i)}`; break;
        case 'FLAGS': line += `FLAGS (${box.flagsTextAt(i)})`; break;
        case 'MODSEQ': line += `MODSEQ (${box.modSeqAt(i)})`; break;
        case 'INTERNALDATE': line += `INTERNALDATE "${formatDateTime(box.sizeDateAt(i).internalDate)}"`; break;
        case 'RFC822.SIZE': line += `RFC822.SIZE ${box.sizeDateAt(i).size}`; break;
      }
    }
    chunk += line + ')\r\n';
    if (chunk.length >= 65536) {
      s.out.push(chunk);
      chunk = '';
      await s.out.flush();
    }
  }
  if (chunk) s.out.push(chunk);
  await s.out.flush(false);
}

export const fetchCommands: Record<string, CommandSpec> = {
  FETCH: { states: ['selected'], run: fetch },
  'UID FETCH': { states: ['selected'], run: fetch },
};
