import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS_DIR } from '../helpers/corpus.js';
import { toCrlf } from '../../src/mime/crlf.js';
import {
  binary, bodyStructure, envelope, literal, parseSectionSpec, section, sectionBytes,
} from '../../src/mime/imap.js';
import { parseMessage } from '../../src/mime/parse.js';
import type { MimeTree } from '../../src/mime/types.js';
import { readTranscript } from './transcript.js';

/**
 * Our answers to the corpus' per-message FETCH commands, item by item, next to Dovecot's
 * recorded ones (../shared/corpus). Used by corpus.test.ts.
 */

export { CORPUS_DIR, corpusMissing } from '../helpers/corpus.js';

export interface CorpusEntry {
  n: number;
  file: string;
  extra_sections: string[];
  binary_parts: string[];
}

export interface ItemResult {
  /** Command (without tag) and item name as Dovecot echoed it, or `status` for the tagged status. */
  command: string;
  item: string;
  expected: Buffer;
  got: Buffer;
}

export function loadManifest(): CorpusEntry[] {
  return JSON.parse(readFileSync(join(CORPUS_DIR, 'manifest.json'), 'utf8')) as CorpusEntry[];
}

export function expectedFile(entry: CorpusEntry): string {
  const base = entry.file.replace(/\.eml$/, '.txt');
  const files = readdirSync(join(CORPUS_DIR, 'expected'));
  if (!files.includes(base)) throw new Error(`no expected file for ${entry.file}`);
  return join(CORPUS_DIR, 'expected', base);
}

/** The message as our store keeps it: CRLF line ends (src/mime/crlf.ts). */
export function loadMessage(entry: CorpusEntry): Buffer {
  return toCrlf(readFileSync(join(CORPUS_DIR, 'messages', entry.file)));
}

/** Compares every item of every recorded FETCH of one message; returns all of them. */
export function compareMessage(entry: CorpusEntry): ItemResult[] {
  const buf = loadMessage(entry);
  // What the store does: parse once, keep the JSON, answer from the stored copy.
  const tree = JSON.parse(JSON.stringify(parseMessage(buf))) as MimeTree;
  const out: ItemResult[] = [];
  for (const block of readTranscript(readFileSync(expectedFile(entry)))) {
    let status = 'OK';
    for (const [name, value] of block.items) {
      if (name === 'UID' || name === 'INTERNALDATE') continue; // not ours: the store's
      const got = ourItem(tree, buf, name);
      if (got.status !== undefined) status = got.status;
      out.push({ command: block.command, item: name, expected: value, got: got.value });
    }
    // A failing BINARY has no item in the response: ask for it to learn our status.
    const m = /^UID FETCH \d+ \(BINARY\.PEEK\[([\d.]*)\]/.exec(block.command);
    if (m !== null && !block.items.has(`BINARY[${m[1]}]`)) {
      status = ourItem(tree, buf, `BINARY[${m[1]}]`).status ?? 'OK';
    }
    out.push({ command: block.command, item: 'status', expected: Buffer.from(block.status), got: Buffer.from(status) });
  }
  return out;
}

function ourItem(tree: MimeTree, buf: Buffer, name: string): { value: Buffer; status?: string } {
  if (name === 'RFC822.SIZE') return { value: Buffer.from(String(buf.length)) };
  if (name === 'ENVELOPE') return { value: envelope(tree) };
  if (name === 'BODY') return { value: bodyStructure(tree, false) };
  if (name === 'BODYSTRUCTURE') return { value: bodyStructure(tree, true) };
  let m = /^BODY\[(.*)\]$/s.exec(name);
  if (m !== null) {
    const r = section(tree, parseSectionSpec(m[1]));
    // A section that does not exist is sent as an empty string.
    const bytes = r === null ? Buffer.alloc(0) : sectionBytes(buf, r);
    return { value: Buffer.from(literal(bytes.toString('latin1')), 'latin1') };
  }
  m = /^BINARY(\.SIZE)?\[([\d.]*)\]$/.exec(name);
  if (m !== null) {
    const part = m[2] === '' ? [] : m[2].split('.').map(Number);
    const r = binary(tree, buf, part);
    if (r === null) return { value: Buffer.from('NIL'), status: 'OK' };
    if (!r.ok) return { value: Buffer.from('NIL'), status: `NO [${r.code}]` };
    if (m[1] !== undefined) return { value: Buffer.from(String(r.data.length)) };
    return {
      value: Buffer.concat([Buffer.from(`${r.binary ? '~' : ''}{${r.data.length}}\r\n`), r.data]),
    };
  }
  throw new Error(`item ${name} not handled`);
}

/** `NNN ITEM`, e.g. `060 BODYSTRUCTURE`; a tagged status is `NNN status of BINARY[1]`. */
export function itemKey(n: number, r: ItemResult): string {
  const nnn = String(n).padStart(3, '0');
  if (r.item !== 'status') return `${nnn} ${r.item}`;
  const first = /\((\S+)/.exec(r.command)?.[1]?.replace('.PEEK', '') ?? r.command;
  return `${nnn} status of ${first}`;
}
