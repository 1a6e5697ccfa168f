import { bodyText } from '../mime/text.js';
import { bytesToText } from '../mime/charset.js';
import { paramValue } from '../mime/params.js';
import { decodeTransfer } from '../mime/transfer.js';
import type { MimePart } from '../mime/types.js';
import type { MessageView } from './message.js';

/**
 * RFC 5173 body transforms: :raw (the body octets as they are), :content (the decoded parts
 * whose type matches one of the given types: "text" matches text/*, "text/html" that subtype
 * only), :text (the default: the text/* parts, decoded). Parts of multiparts and of enclosed
 * messages are walked with an explicit stack; at most `maxParts` are looked at.
 */
export type BodyTransform = { kind: 'raw' } | { kind: 'text' } | { kind: 'content'; types: string[] };

export function bodyTexts(view: MessageView, tr: BodyTransform, maxParts = 1000): string[] {
  const buf = view.original;
  const root = view.tree.root;
  if (tr.kind === 'raw') return [bytesToText(buf.subarray(root.bs, root.be))];
  const types = tr.kind === 'text' ? ['text'] : tr.types.map((t) => t.toLowerCase());
  const out: string[] = [];
  const stack: MimePart[] = [root];
  let seen = 0;
  while (stack.length > 0 && seen++ < maxParts) {
    const p = stack.pop()!;
    if (p.parts !== undefined) {
      for (let i = p.parts.length - 1; i >= 0; i--) stack.push(p.parts[i]);
      continue;
    }
    if (p.message !== undefined && !types.some((t) => t === 'message' || t === 'message/rfc822')) {
      stack.push(p.message);
      continue;
    }
    if (!types.some((t) => typeMatches(t, p))) continue;
    const raw = buf.subarray(p.bs, p.be);
    const dec = decodeTransfer(raw, p.encoding, false) ?? raw;
    out.push(bodyText(dec, paramValue(p.params, 'charset')));
  }
  return out;
}

function typeMatches(t: string, p: MimePart): boolean {
  if (t === '') return true;
  const slash = t.indexOf('/');
  if (slash < 0) return p.type === t;
  return p.type === t.slice(0, slash) && p.subtype === t.slice(slash + 1);
}
