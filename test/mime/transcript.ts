/**
 * Reads the corpus' recorded IMAP transcripts (../shared/corpus/expected/NNN-*.txt, format in
 * the corpus README): blocks of `C: command`, the untagged responses as sent, `T: status`.
 * FETCH responses are split into items with the raw bytes of each value, so a value can be
 * compared byte for byte with ours.
 */

export interface FetchBlock {
  command: string;
  /** Item name as echoed (e.g. `BODY[HEADER.FIELDS (FROM SUBJECT)]`) -> raw value bytes. */
  items: Map<string, Buffer>;
  /** Tagged status and response code, e.g. `OK`, `NO [UNKNOWN-CTE]`. */
  status: string;
}

export function readTranscript(data: Buffer): FetchBlock[] {
  const blocks: FetchBlock[] = [];
  let pos = 0;
  while (pos < data.length) {
    const cEnd = data.indexOf('\r\n', pos);
    const cLine = data.toString('latin1', pos, cEnd);
    if (!cLine.startsWith('C: ')) throw new Error(`expected C: line at ${pos}: ${cLine.slice(0, 60)}`);
    pos = cEnd + 2;
    const block: FetchBlock = { command: cLine.slice(3), items: new Map(), status: '' };
    for (;;) {
      if (data.toString('latin1', pos, pos + 3) === 'T: ') {
        const tEnd = data.indexOf('\r\n', pos);
        block.status = data.toString('latin1', pos + 3, tEnd);
        pos = tEnd + 2;
        break;
      }
      pos = readUntagged(data, pos, block.items);
    }
    blocks.push(block);
  }
  return blocks;
}

/** One `* n FETCH (...)` response ending in CRLF; returns the position after it. */
function readUntagged(data: Buffer, pos: number, items: Map<string, Buffer>): number {
  const m = /^\* \d+ FETCH \(/.exec(data.toString('latin1', pos, pos + 40));
  if (m === null) throw new Error(`unexpected response at ${pos}: ${data.toString('latin1', pos, pos + 60)}`);
  let i = pos + m[0].length;
  while (data[i] !== 0x29) {
    const nameStart = i;
    while (data[i] !== 0x20 && data[i] !== 0x5b) i++;
    if (data[i] === 0x5b) {
      let depth = 0;
      for (;; i++) {
        if (data[i] === 0x5b) depth++;
        else if (data[i] === 0x5d && --depth === 0) { i++; break; }
      }
      if (data[i] === 0x3c) while (data[i - 1] !== 0x3e) i++;
    }
    const name = data.toString('latin1', nameStart, i);
    i++; // SP
    const end = skipValue(data, i);
    items.set(name, data.subarray(i, end));
    i = end;
    if (data[i] === 0x20) i++;
  }
  if (data[i + 1] !== 0x0d || data[i + 2] !== 0x0a) throw new Error(`FETCH response not ended by CRLF at ${i}`);
  return i + 3;
}

/** The end of one value (atom, number, NIL, quoted, literal, literal8, list) starting at i. */
export function skipValue(data: Buffer, i: number): number {
  const c = data[i];
  if (c === 0x22) {
    for (i++; data[i] !== 0x22; i++) if (data[i] === 0x5c) i++;
    return i + 1;
  }
  if (c === 0x7b || (c === 0x7e && data[i + 1] === 0x7b)) {
    const close = data.indexOf('}', i);
    const n = Number(data.toString('latin1', c === 0x7e ? i + 2 : i + 1, close));
    return close + 3 + n;
  }
  if (c === 0x28) {
    i++;
    while (data[i] !== 0x29) {
      if (data[i] === 0x20) { i++; continue; }
      i = skipValue(data, i);
    }
    return i + 1;
  }
  while (i < data.length && data[i] !== 0x20 && data[i] !== 0x29) i++;
  return i;
}
