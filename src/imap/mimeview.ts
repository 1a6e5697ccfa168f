import type { Session } from './session.js';
import type { ViewMessage } from './selected.js';
import type { Section } from './commands/fetch.js';
import { no } from './errors.js';
import { parseMessage } from '../mime/parse.js';
import { MIME_TREE_VERSION, type MimeTree } from '../mime/types.js';
import { binary, bodyStructure, envelope, section, sectionBytes } from '../mime/imap.js';
import type { Store } from '../store/types.js';
import type { BlobStore } from '../store/blobs.js';

/** A whole message (the size lets the store read small ones the fastest way). */
export function readMessage(blobs: BlobStore, m: { blobId: string; size: number }): Promise<Buffer> {
  return blobs.read(m.blobId, m.size);
}

/** The octets of one part; `binary`: send as literal8 (RFC 3516 4.3). */
export interface PartBytes {
  bytes: Buffer;
  binary?: boolean;
  unknownCte?: boolean;
}

/**
 * FETCH items that need the message's MIME structure, from the tree src/mime parsed once at
 * delivery or APPEND and the store kept as JSON (DESIGN.md): ENVELOPE, BODY, BODYSTRUCTURE
 * need no message file at all; BODY[part] and BINARY[part] are slices of it.
 */
/** Parsed trees kept (least recently used go first): about 1-3 KB each. */
const CACHE_MAX = 16384;
const cache = new Map<string, MimeTree>();

function remember(blobId: string, t: MimeTree): MimeTree {
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(blobId, t);
  return t;
}

/** The JSON stored with a blob: the parsed tree of its bytes. */
export function mimeJsonOf(raw: Buffer): string {
  return JSON.stringify(parseMessage(raw));
}

/** Loads the trees of many messages with one query (a FETCH of a range needs them all). */
export async function preloadTrees(store: Store, msgs: ViewMessage[]): Promise<void> {
  const missing = [...new Set(msgs.map((m) => m.blobId).filter((b) => !cache.has(b)))];
  if (!missing.length) return;
  const rows = await store.getMime(missing);
  for (const [id, json] of rows) {
    if (!json) continue;
    try {
      const t = JSON.parse(json) as MimeTree;
      if (t.v === MIME_TREE_VERSION) remember(id, t);
    } catch {
      /* re-parsed on use */
    }
  }
}

/** The tree of a message: cached, stored, or parsed now from `raw` (and stored for next time). */
export async function treeOf(s: Session, m: ViewMessage, raw?: Buffer): Promise<MimeTree> {
  const hit = cache.get(m.blobId);
  if (hit) {
    cache.delete(m.blobId);
    cache.set(m.blobId, hit);
    return hit;
  }
  await preloadTrees(s.ctx.store, [m]);
  const again = cache.get(m.blobId);
  if (again) return again;
  const bytes = raw ?? (await readMessage(s.ctx.blobs, m));
  const t = parseMessage(bytes);
  await s.ctx.store.setMime(m.blobId, JSON.stringify(t));
  return remember(m.blobId, t);
}

export async function envelopeOf(s: Session, m: ViewMessage): Promise<Buffer> {
  return envelope(await treeOf(s, m));
}

export async function structureOf(s: Session, m: ViewMessage, extensible: boolean): Promise<Buffer> {
  return bodyStructure(await treeOf(s, m), extensible, s.rev2);
}

/**
 * BODY[part...] and BINARY[part] (RFC 9051 6.4.5, RFC 3516). null: the part does not exist;
 * a HEADER/TEXT of a part that is not a message is the empty string.
 */
export async function bodyPart(s: Session, m: ViewMessage, raw: Buffer, sec: Section, isBinary: boolean): Promise<PartBytes | null> {
  const tree = await treeOf(s, m, raw);
  if (isBinary) {
    const r = binary(tree, raw, sec.part);
    if (!r) return null;
    if (!r.ok) {
      if (r.code === 'UNKNOWN-CTE') return { bytes: Buffer.alloc(0), unknownCte: true };
      throw no(r.message, 'PARSE');
    }
    return { bytes: r.data, binary: r.binary };
  }
  const spec = { part: sec.part, text: sec.text || undefined, fields: sec.fields.length ? sec.fields : undefined };
  const r = section(tree, spec);
  if (!r) return sec.text && sec.text !== 'MIME' ? { bytes: Buffer.alloc(0) } : null;
  return { bytes: sectionBytes(raw, r) };
}

/**
 * BODY[section] of a large message without reading the file: a byte range to stream, or (for
 * HEADER.FIELDS) the filtered header read from the header's range only. null: no such part.
 */
export async function sectionRange(s: Session, m: ViewMessage, sec: Section): Promise<{ start: number; end: number } | { bytes: Buffer } | null> {
  const tree = await treeOf(s, m);
  const spec = { part: sec.part, text: sec.text || undefined, fields: sec.fields.length ? sec.fields : undefined };
  const r = section(tree, spec);
  if (!r) return sec.text && sec.text !== 'MIME' ? { bytes: Buffer.alloc(0) } : null;
  if (r.kind === 'range') return { start: r.start, end: r.end };
  const header = await s.ctx.blobs.slice(m.blobId, r.start, r.end);
  return { bytes: sectionBytes(header, { ...r, start: 0, end: header.length }) };
}
