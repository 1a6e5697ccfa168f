import type { Command } from './ast.js';
import type { Runtime } from './interpreter.js';
import { matchSpec } from './match.js';
import { fieldText } from './message.js';

/**
 * RFC 5293 editheader: addheader puts a field at the top (or at the end with :last);
 * deleteheader removes fields by name, optionally by :index and by value. Received and
 * Auto-Submitted are protected (9: trace fields MUST NOT be removed; an Auto-Submitted we
 * could remove would let a loop through); a change to them is logged and skipped.
 */
const PROTECTED = new Set(['received', 'auto-submitted']);
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

function checkName(rt: Runtime, what: string, name: string): boolean {
  if (!FIELD_NAME.test(name)) rt.fail(`${what}: invalid header field name "${name.slice(0, 100)}"`);
  if (PROTECTED.has(name.toLowerCase())) {
    rt.note(`${what}: ${name} is protected, not changed`);
    return false;
  }
  return true;
}

/** RFC 2047 encoded word for non-ASCII values; line breaks made folds (RFC 5293 4). */
function fieldValue(value: string): string {
  let v = value.replace(/\r?\n(?![ \t])/g, '\r\n ').replace(/\r(?!\n)/g, '');
  if (/[^\x00-\x7f]/.test(v)) v = `=?UTF-8?B?${Buffer.from(v.replace(/\r\n /g, ' '), 'utf8').toString('base64')}?=`;
  return v;
}

export function addHeader(rt: Runtime, c: Command): void {
  const name = rt.str(c.pos[0]);
  const value = rt.str(c.pos[1]);
  if (!checkName(rt, 'addheader', name)) return;
  const field = { name, key: name.toLowerCase(), raw: ' ' + fieldValue(value) };
  if (rt.view.headerSize() + name.length + field.raw.length + 3 > rt.limits.maxHeaderSize) {
    rt.fail(`addheader: header larger than ${rt.limits.maxHeaderSize} octets`);
  }
  if (c.tags.last === true) rt.view.fields.push(field);
  else rt.view.fields.unshift(field);
  rt.view.edited = true;
}

export function deleteHeader(rt: Runtime, c: Command): void {
  const name = rt.str(c.pos[0]);
  if (!checkName(rt, 'deleteheader', name)) return;
  const key = name.toLowerCase();
  const patterns = c.pos.length > 1 ? rt.list(c.pos[1]) : null;
  const spec = matchSpec(c);
  const positions: number[] = [];
  rt.view.fields.forEach((f, i) => { if (f.key === key) positions.push(i); });
  let candidates = positions;
  const index = rt.num(c.tags.index);
  if (index !== undefined) {
    const pick = c.tags.last === true ? positions[positions.length - index] : positions[index - 1];
    candidates = pick === undefined ? [] : [pick];
  }
  const doomed = new Set<number>();
  for (const i of candidates) {
    const f = rt.view.fields[i];
    if (patterns === null || rt.matcher.test([fieldText(f.raw)], patterns, spec)) doomed.add(i);
  }
  if (doomed.size === 0) return;
  rt.view.fields = rt.view.fields.filter((_, i) => !doomed.has(i));
  rt.view.edited = true;
}
