import {
  paramValue, parseContentType, parseDisposition, parseLanguage, parseTransferEncoding,
} from './params.js';
import { MIME_TREE_VERSION, type ByteString, type MimeEnvelopeFields, type MimePart, type MimeTree } from './types.js';

/**
 * MIME structure of a whole message in one forward pass (RFC 2045, RFC 2046 5.1.1, RFC 5322
 * 2.2), with no recursion: open entities live on an explicit stack, so a hostile nesting can
 * neither blow the call stack nor make the work quadratic.
 *
 * - A header ends at the first empty line (CRLF or bare LF). A line without a colon inside it
 *   is skipped, as is a continuation line with no field before it; a header may also end at
 *   a boundary delimiter line or at the end of the data, leaving an empty body.
 * - Boundary delimiter lines (RFC 2046 5.1.1) are "--" boundary, then "--" for the close
 *   delimiter, then only transport padding (spaces, tabs). "--bX" is not a delimiter for "b".
 *   The CRLF before a delimiter belongs to it. The innermost open multipart is tried first;
 *   a delimiter of an enclosing multipart also ends every part inside it (an inner multipart
 *   that was never closed). Bodies are searched with Buffer.indexOf("\n--"), so only lines
 *   starting with "--" are looked at, each with one Map lookup.
 * - A multipart whose boundary is missing, or which is beyond the limits, has no parts.
 * - message/rfc822 and message/global (RFC 6532 3.7) encapsulate a message, parsed in the same
 *   pass; children of multipart/digest default to message/rfc822 (RFC 2046 5.1.5).
 *
 * Never throws on any input: every byte sequence is some message.
 */

export interface ParseLimits {
  /** Nesting of multiparts and encapsulated messages; deeper entities are not looked into. */
  maxDepth: number;
  /** Body parts in the whole message; after that no more boundaries are recognised. */
  maxParts: number;
  /** Longest boundary recognised (RFC 2046 5.1.1 says 70; real mail sometimes exceeds it). */
  maxBoundary: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxDepth: 100, maxParts: 10000, maxBoundary: 998 };

const HT = 9, LF = 10, CR = 13, SP = 32, DASH = 45, COLON = 58;
const NL_DASH_DASH = Buffer.from('\n--', 'latin1');

export function parseMessage(buf: Buffer, limits: Partial<ParseLimits> = {}): MimeTree {
  const parser = new Parser(buf, { ...DEFAULT_PARSE_LIMITS, ...limits });
  return { v: MIME_TREE_VERSION, size: buf.length, root: parser.run() };
}

/**
 * A tree read back from storage, or null when it was written by another version of this
 * module (the caller then parses the message again).
 */
export function storedTree(json: string): MimeTree | null {
  try {
    const t = JSON.parse(json) as MimeTree;
    return t !== null && typeof t === 'object' && t.v === MIME_TREE_VERSION ? t : null;
  } catch {
    return null;
  }
}

/** The header fields we keep. Envelope ones only matter on message roots. */
type FieldId =
  | 'ct' | 'cte' | 'id' | 'description' | 'md5' | 'disposition' | 'language' | 'location'
  | 'date' | 'subject' | 'messageId' | 'inReplyTo' | 'references'
  | 'from' | 'sender' | 'replyTo' | 'to' | 'cc' | 'bcc';

const FIELDS = new Map<string, FieldId>([
  ['content-type', 'ct'], ['content-transfer-encoding', 'cte'], ['content-id', 'id'],
  ['content-description', 'description'], ['content-md5', 'md5'],
  ['content-disposition', 'disposition'], ['content-language', 'language'],
  ['content-location', 'location'],
  ['date', 'date'], ['subject', 'subject'], ['message-id', 'messageId'],
  ['in-reply-to', 'inReplyTo'], ['references', 'references'],
  ['from', 'from'], ['sender', 'sender'], ['reply-to', 'replyTo'], ['to', 'to'], ['cc', 'cc'],
  ['bcc', 'bcc'],
]);
const LONGEST_FIELD_NAME = 25; // content-transfer-encoding

const CONTENT_FIELDS = new Set<FieldId>(['ct', 'cte', 'id', 'description', 'md5', 'disposition', 'language', 'location']);

type AddressField = 'from' | 'sender' | 'replyTo' | 'to' | 'cc' | 'bcc';
const ADDRESS_FIELDS = new Set<FieldId>(['from', 'sender', 'replyTo', 'to', 'cc', 'bcc']);
/** Occurrences of one address field kept per message (a bound, not a semantic). */
const MAX_ADDRESS_FIELD_LINES = 1000;

/** Content-* values, collected while the header is read (the first occurrence counts). */
interface ContentFields {
  ct?: ByteString; cte?: ByteString; id?: ByteString; description?: ByteString;
  md5?: ByteString; disposition?: ByteString; language?: ByteString; location?: ByteString;
}

interface Frame {
  part: MimePart;
  depth: number;
  inHeader: boolean;
  /** Default Content-Type is message/rfc822 (a child of multipart/digest). */
  digestChild: boolean;
  /** The active boundary of a multipart, while its close delimiter has not been seen. */
  boundary: string | null;
  /** LF count at the body start, for the line count. */
  lfStart: number;
  content: ContentFields;
  // the header field being read (it may continue on the next lines)
  field: FieldId | null;
  fieldStart: number;
  fieldEnd: number;
}

class Parser {
  private readonly len: number;
  private readonly stack: Frame[] = [];
  /** Active boundaries -> the multiparts using them, outermost first. */
  private readonly boundaries = new Map<string, Frame[]>();
  private longestBoundary = 0;
  private partCount = 0;
  private partsExhausted = false;
  // line counting: LFs before lfPos, and the first LF at or after lfPos (-1: none, -2: unknown)
  private lfPos = 0;
  private lfCount = 0;
  private nextLf = -2;

  constructor(private readonly buf: Buffer, private readonly limits: ParseLimits) {
    this.len = buf.length;
  }

  run(): MimePart {
    const root = this.open(0, 0, false, true);
    let pos = 0;
    while (pos < this.len) {
      const top = this.stack[this.stack.length - 1];
      pos = top.inHeader ? this.headerLine(top, pos) : this.body(pos);
    }
    while (this.stack.length > 0) this.close(this.stack.pop()!, this.len);
    return root.part;
  }

  private open(hs: number, depth: number, digestChild: boolean, messageRoot: boolean): Frame {
    const part: MimePart = { hs, bs: hs, be: hs, type: 'text', subtype: 'plain', params: [], lines: 0 };
    if (messageRoot) part.env = {};
    const frame: Frame = {
      part, depth, inHeader: true, digestChild, boundary: null, lfStart: 0, content: {},
      field: null, fieldStart: 0, fieldEnd: 0,
    };
    this.stack.push(frame);
    return frame;
  }

  /** One header line at pos; returns the start of the next line. */
  private headerLine(f: Frame, pos: number): number {
    const buf = this.buf;
    const eol = buf.indexOf(LF, pos);
    const next = eol < 0 ? this.len : eol + 1;
    let lineEnd = eol < 0 ? this.len : eol;
    if (lineEnd > pos && buf[lineEnd - 1] === CR) lineEnd--;
    if (lineEnd === pos) {
      this.endHeader(f, next);
      return next;
    }
    if (buf[pos] === DASH && buf[pos + 1] === DASH && this.boundaries.size > 0) {
      const after = this.delimiter(pos);
      if (after >= 0) return after;
    }
    const c = buf[pos];
    if (c === SP || c === HT) {
      // RFC 5322 2.2.3: a continuation of the field above, if any.
      if (f.field !== null) f.fieldEnd = lineEnd;
      return next;
    }
    this.flushField(f);
    let colon = -1;
    for (let i = pos; i < lineEnd; i++) {
      if (buf[i] === COLON) { colon = i; break; }
    }
    if (colon < 0) return next;
    let nameEnd = colon;
    // RFC 5322 4.5 (obsolete): white space between the field name and the colon.
    while (nameEnd > pos && (buf[nameEnd - 1] === SP || buf[nameEnd - 1] === HT)) nameEnd--;
    if (nameEnd === pos || nameEnd - pos > LONGEST_FIELD_NAME) return next;
    const id = FIELDS.get(buf.toString('latin1', pos, nameEnd).toLowerCase());
    if (id === undefined || (f.part.env === undefined && !CONTENT_FIELDS.has(id))) return next;
    let vs = colon + 1;
    while (vs < lineEnd && (buf[vs] === SP || buf[vs] === HT)) vs++;
    f.field = id;
    f.fieldStart = vs;
    f.fieldEnd = lineEnd;
    return next;
  }

  private flushField(f: Frame): void {
    const id = f.field;
    if (id === null) return;
    f.field = null;
    const value = this.buf.toString('latin1', f.fieldStart, Math.max(f.fieldStart, f.fieldEnd));
    const env = f.part.env;
    if (CONTENT_FIELDS.has(id)) {
      const key = id as keyof ContentFields;
      if (f.content[key] === undefined) f.content[key] = value;
    } else if (env !== undefined) {
      if (ADDRESS_FIELDS.has(id)) {
        const list = (env[id as AddressField] ??= []);
        if (list.length < MAX_ADDRESS_FIELD_LINES) list.push(value);
      } else {
        env[id as Exclude<keyof MimeEnvelopeFields, AddressField>] = value;
      }
    }
  }

  /** The header of f ended; its body starts at bodyStart. */
  private endHeader(f: Frame, bodyStart: number): void {
    this.flushField(f);
    f.inHeader = false;
    const part = f.part;
    part.bs = bodyStart;
    this.applyContentFields(f);
    f.lfStart = this.lfTo(bodyStart);
    if (part.type === 'multipart') {
      part.parts = [];
      let b = paramValue(part.params, 'boundary') ?? paramValue(part.params, 'boundary*');
      if (b !== undefined) b = b.replace(/[ \t]+$/, '');
      if (b !== undefined && b.length <= this.limits.maxBoundary && f.depth < this.limits.maxDepth &&
          !this.partsExhausted && bodyStart < this.len) {
        this.activate(f, b);
      }
    } else if (part.type === 'message' && (part.subtype === 'rfc822' || part.subtype === 'global')) {
      const enc = part.encoding?.toLowerCase();
      // RFC 2046 5.2.1: only 7bit, 8bit or binary may encode an encapsulated message.
      const identity = enc === undefined || enc === '7bit' || enc === '8bit' || enc === 'binary';
      if (identity && f.depth < this.limits.maxDepth) {
        part.message = this.open(bodyStart, f.depth + 1, false, true).part;
      } else {
        part.message = emptyMessage(bodyStart);
      }
    }
  }

  private applyContentFields(f: Frame): void {
    const part = f.part;
    const c = f.content;
    const ct = c.ct === undefined ? undefined : parseContentType(c.ct);
    if (ct) {
      part.type = ct.type;
      part.subtype = ct.subtype;
      part.params = ct.params;
    } else if (ct === undefined && f.digestChild) {
      // RFC 2046 5.1.5: in a digest, the default is message/rfc822.
      part.type = 'message';
      part.subtype = 'rfc822';
    }
    // else: absent, or invalid (RFC 2045 5.2): text/plain; charset=us-ascii, set by open().
    if (c.cte !== undefined) {
      const enc = parseTransferEncoding(c.cte);
      if (enc !== '') part.encoding = enc;
    }
    if (c.id !== undefined) part.id = noLf(c.id);
    if (c.description !== undefined) part.description = noLf(c.description);
    if (c.md5 !== undefined) part.md5 = noLf(c.md5);
    if (c.location !== undefined) part.location = noLf(c.location);
    if (c.disposition !== undefined) part.disposition = parseDisposition(c.disposition);
    if (c.language !== undefined) {
      const tags = parseLanguage(c.language);
      if (tags.length > 0) part.language = tags;
    }
  }

  /** Scans a body from the line start pos to the next delimiter line; returns the next position. */
  private body(pos: number): number {
    if (this.boundaries.size === 0) return this.len;
    const buf = this.buf;
    let line = pos;
    for (;;) {
      if (buf[line] === DASH && buf[line + 1] === DASH) {
        const after = this.delimiter(line);
        if (after >= 0) return after;
      }
      const i = buf.indexOf(NL_DASH_DASH, line);
      if (i < 0) return this.len;
      line = i + 1;
    }
  }

  /**
   * The line at `line` starts with "--". If it is a delimiter of an open multipart, acts on it
   * and returns the start of the following line; otherwise returns -1.
   */
  private delimiter(line: number): number {
    const buf = this.buf;
    const eol = buf.indexOf(LF, line);
    const next = eol < 0 ? this.len : eol + 1;
    let end = eol < 0 ? this.len : eol;
    if (end > line && buf[end - 1] === CR) end--;
    // RFC 2046 5.1.1 transport-padding after the boundary
    while (end > line + 2 && (buf[end - 1] === SP || buf[end - 1] === HT)) end--;
    if (end - line - 2 > this.longestBoundary + 2) return -1;
    const text = buf.toString('latin1', line + 2, end);
    let close = false;
    let owners = this.boundaries.get(text);
    if (owners === undefined && text.endsWith('--')) {
      owners = this.boundaries.get(text.slice(0, -2));
      close = true;
    }
    if (owners === undefined) return -1;
    const owner = owners[owners.length - 1];
    const k = this.stack.lastIndexOf(owner);

    // The CRLF before the delimiter is part of it (RFC 2046 5.1.1), even when it is the empty
    // line after a part's header: that part then has a header and no body. It cannot be taken
    // from before the part that ends here, nor from a multipart's own header (no preamble).
    let contentEnd = line;
    if (line > 0 && buf[line - 1] === LF) {
      contentEnd = line - 1;
      if (contentEnd > 0 && buf[contentEnd - 1] === CR) contentEnd--;
    }
    const floor = k === this.stack.length - 1 ? owner.part.bs : this.stack[k + 1].part.hs;
    if (contentEnd < floor) contentEnd = floor;

    while (this.stack.length - 1 > k) this.close(this.stack.pop()!, contentEnd);
    if (close) {
      this.deactivate(owner);
    } else {
      const child = this.open(next, owner.depth + 1, owner.part.subtype === 'digest', false);
      owner.part.parts!.push(child.part);
      if (++this.partCount >= this.limits.maxParts) {
        // Bounded output: the rest of the message stays inside this last part.
        this.partsExhausted = true;
        for (const f of this.stack) if (f.boundary !== null) this.deactivate(f);
      }
    }
    return next;
  }

  private close(f: Frame, end: number): void {
    const part = f.part;
    if (f.inHeader) {
      // A header cut short by a delimiter or by the end of data: an empty body.
      this.flushField(f);
      f.inHeader = false;
      if (end < part.hs) part.hs = end;
      part.bs = end;
      this.applyContentFields(f);
      if (part.type === 'multipart') part.parts = [];
      else if (part.type === 'message' && (part.subtype === 'rfc822' || part.subtype === 'global')) {
        part.message = emptyMessage(part.bs);
      }
      part.be = end;
    } else if (end < part.bs) {
      // The empty line after the header was the CRLF of the delimiter: no body.
      if (end < part.hs) part.hs = end;
      part.bs = part.be = end;
      if (part.message !== undefined && part.message.hs > end) {
        part.message.hs = part.message.bs = part.message.be = end;
      }
    } else {
      part.be = end;
    }
    part.lines = part.be === part.bs ? 0 : this.lfTo(part.be) - f.lfStart;
    if (f.boundary !== null) this.deactivate(f);
  }

  private activate(f: Frame, boundary: string): void {
    f.boundary = boundary;
    const owners = this.boundaries.get(boundary);
    if (owners === undefined) this.boundaries.set(boundary, [f]);
    else owners.push(f);
    if (boundary.length > this.longestBoundary) this.longestBoundary = boundary.length;
  }

  private deactivate(f: Frame): void {
    const b = f.boundary;
    if (b === null) return;
    f.boundary = null;
    const owners = this.boundaries.get(b);
    if (owners === undefined) return;
    const i = owners.lastIndexOf(f);
    if (i >= 0) owners.splice(i, 1);
    if (owners.length === 0) this.boundaries.delete(b);
  }

  /** The number of LF octets before pos. Called with (almost always) growing positions. */
  private lfTo(pos: number): number {
    const buf = this.buf;
    if (pos < this.lfPos) {
      let n = 0;
      for (let i = buf.indexOf(LF, pos); i >= 0 && i < this.lfPos; i = buf.indexOf(LF, i + 1)) n++;
      this.lfCount -= n;
      this.lfPos = pos;
      this.nextLf = -2;
      return this.lfCount;
    }
    let nl = this.nextLf === -2 ? buf.indexOf(LF, this.lfPos) : this.nextLf;
    while (nl >= 0 && nl < pos) {
      this.lfCount++;
      nl = buf.indexOf(LF, nl + 1);
    }
    this.nextLf = nl;
    this.lfPos = pos;
    return this.lfCount;
  }
}

function emptyMessage(at: number): MimePart {
  return { hs: at, bs: at, be: at, type: 'text', subtype: 'plain', params: [], lines: 0, env: {} };
}

function noLf(s: string): string {
  return s.indexOf('\r') < 0 && s.indexOf('\n') < 0 ? s : s.replace(/[\r\n]/g, '');
}
