import type { Test } from './ast.js';
import { bodyTexts, type BodyTransform } from './body.js';
import { normalizeFlags } from './commands.js';
import { datePart, parseDateValue, parseZone, type ZonedDate } from './dates.js';
import type { Runtime } from './interpreter.js';
import { matchSpec } from './match.js';
import { envelopeAddress, fieldText, headerAddresses, type SimpleAddress } from './message.js';

/** Tests of RFC 5228 5 and the extensions; each returns true or false or throws RunError. */
export async function evaluateTest(rt: Runtime, t: Test): Promise<boolean> {
  rt.budget.charge(1);
  switch (t.name) {
    case 'true': return true;
    case 'false': return false;
    case 'not': return !(await evaluateTest(rt, t.tests[0]));
    case 'allof':
      for (const x of t.tests) if (!(await evaluateTest(rt, x))) return false;
      return true;
    case 'anyof':
      for (const x of t.tests) if (await evaluateTest(rt, x)) return true;
      return false;
    case 'exists': return rt.list(t.pos[0]).every((h) => rt.view.exists(h));
    case 'size': return sizeTest(rt, t);
    case 'header': return match(rt, t, indexed(t, rt.list(t.pos[0]).flatMap((h) => rt.view.text(h))), rt.list(t.pos[1]));
    case 'address': return addressTest(rt, t);
    case 'envelope': return envelopeTest(rt, t);
    case 'body': return match(rt, t, bodyTexts(rt.view, transform(rt, t)), rt.list(t.pos[0]));
    case 'string': return match(rt, t, rt.list(t.pos[0]), rt.list(t.pos[1]), true);
    case 'hasflag': return hasflag(rt, t);
    case 'date': return dateTest(rt, t);
    case 'currentdate': return currentDate(rt, t);
    case 'duplicate': return duplicate(rt, t);
    case 'spamtest': return spamtest(rt, t);
    case 'virustest': return match(rt, t, [String(rt.input.virustest ?? 0)], rt.list(t.pos[0]));
    case 'mailboxexists': return mailboxExists(rt, t);
    case 'environment': return environment(rt, t);
    default: return rt.fail(`unknown test "${t.name}"`);
  }
}

function match(rt: Runtime, t: Test, values: string[], keys: string[], emptyIsValue = false): boolean {
  const spec = matchSpec(t);
  // RFC 5229 5: for "string", an empty source string is not counted by :count
  const vals = emptyIsValue && spec.type === 'count' ? values.filter((v) => v !== '') : values;
  return rt.matcher.test(vals, keys, spec, (caps) => rt.setMatchVars(caps));
}

/** RFC 5260 6 :index / :last: one occurrence, counted from the top or the bottom. */
function indexed<T>(t: Test, values: T[]): T[] {
  const n = t.tags.index;
  if (typeof n !== 'number') return values;
  const v = t.tags.last === true ? values[values.length - n] : values[n - 1];
  return v === undefined ? [] : [v];
}

function sizeTest(rt: Runtime, t: Test): boolean {
  const limit = rt.num(t.pos[0]) ?? 0;
  return t.tags.over === true ? rt.view.size > limit : rt.view.size < limit;
}

/** RFC 5228 2.7.4 address parts, RFC 5233 :user / :detail; null when the part does not exist. */
function addressPart(rt: Runtime, t: Test, a: SimpleAddress): string | null {
  if (t.tags.localpart === true) return a.local;
  if (t.tags.domain === true) return a.domain ?? '';
  const delim = rt.input.recipientDelimiter ?? '+';
  const cut = delim === '' ? -1 : a.local.indexOf(delim);
  if (t.tags.user === true) return cut < 0 ? a.local : a.local.slice(0, cut);
  if (t.tags.detail === true) return cut < 0 ? null : a.local.slice(cut + delim.length);
  return a.all;
}

function addressTest(rt: Runtime, t: Test): boolean {
  const raws = rt.list(t.pos[0]).flatMap((h) => indexed(t, rt.view.raw(h)));
  const parts = headerAddresses(raws).map((a) => addressPart(rt, t, a)).filter((p): p is string => p !== null);
  return match(rt, t, parts, rt.list(t.pos[1]));
}

function envelopeTest(rt: Runtime, t: Test): boolean {
  const env = rt.input.envelope;
  const values: string[] = [];
  for (const part of rt.list(t.pos[0])) {
    const p = part.toLowerCase();
    const addr = p === 'from' ? env.from : p === 'to' ? env.to : p === 'auth' ? env.auth : undefined;
    if (addr === undefined) continue;
    // RFC 5228 5.4: the null reverse-path is the empty string, for every address part
    const v = addr === '' ? '' : addressPart(rt, t, envelopeAddress(addr));
    if (v !== null) values.push(v);
  }
  return match(rt, t, values, rt.list(t.pos[1]));
}

function transform(rt: Runtime, t: Test): BodyTransform {
  if (t.tags.raw === true) return { kind: 'raw' };
  if (t.tags.content !== undefined) return { kind: 'content', types: rt.list(t.tags.content) };
  return { kind: 'text' };
}

function hasflag(rt: Runtime, t: Test): boolean {
  const vars = rt.list(t.pos[0]);
  const flags = vars.length === 0 ? rt.flags : normalizeFlags(vars.map((v) => rt.getVar(v) ?? ''));
  return match(rt, t, flags, rt.list(t.pos[1]));
}

function zoneFor(rt: Runtime, t: Test, original: number): number {
  if (t.tags.originalzone === true) return original;
  if (t.tags.zone !== undefined) {
    const z = parseZone(rt.str(t.tags.zone));
    if (z === null) rt.fail(`${t.name}: bad :zone "${rt.str(t.tags.zone)}"`);
    return z;
  }
  return rt.input.zoneOffset ?? 0;
}

/** RFC 5260 4: the first (or :index) occurrence of a date header; no valid date: false. */
function dateTest(rt: Runtime, t: Test): boolean {
  const name = rt.str(t.pos[0]);
  const part = rt.str(t.pos[1]);
  let values = rt.view.text(name);
  if (name.toLowerCase() === 'received') values = values.map((v) => v.slice(v.lastIndexOf(';') + 1));
  const picked = typeof t.tags.index === 'number' ? indexed(t, values) : values.slice(0, 1);
  const dates = picked.map(parseDateValue).filter((d): d is ZonedDate => d !== null);
  const parts = dates.map((d) => datePart({ time: d.time, zone: zoneFor(rt, t, d.zone) }, part))
    .filter((p): p is string => p !== null);
  if (parts.length === 0 && matchSpec(t).type !== 'count') return false;
  return match(rt, t, parts, rt.list(t.pos[2]));
}

function currentDate(rt: Runtime, t: Test): boolean {
  const now = (rt.input.now ?? new Date()).getTime();
  const p = datePart({ time: now, zone: zoneFor(rt, t, 0) }, rt.str(t.pos[0]));
  return match(rt, t, p === null ? [] : [p], rt.list(t.pos[1]));
}

/** RFC 7352: the id (Message-ID by default) seen before under this handle; tracked for delivery. */
async function duplicate(rt: Runtime, t: Test): Promise<boolean> {
  let id: string | undefined;
  if (t.tags.uniqueid !== undefined) id = rt.str(t.tags.uniqueid);
  else {
    const h = t.tags.header !== undefined ? rt.str(t.tags.header) : 'message-id';
    id = rt.view.raw(h).map(fieldText)[0];
  }
  if (id === undefined || id === '') return false;
  const handle = t.tags.handle !== undefined ? rt.str(t.tags.handle) : '';
  const seconds = Math.min(rt.num(t.tags.seconds) ?? 12 * 3600, 7 * 86400);
  const seen = rt.input.duplicate === undefined ? false : await rt.input.duplicate(id, handle);
  rt.budget.checkTime();
  const already = rt.duplicates.some((d) => d.id === id && d.handle === handle);
  if (!already && (!seen || t.tags.last === true)) rt.duplicates.push({ handle, id, seconds });
  return seen || already;
}

function spamtest(rt: Runtime, t: Test): boolean {
  const s = rt.input.spamtest;
  const v = t.tags.percent === true ? String(s?.percent ?? 0) : String(s?.value ?? 0);
  return match(rt, t, [v], rt.list(t.pos[0]));
}

async function mailboxExists(rt: Runtime, t: Test): Promise<boolean> {
  for (const name of rt.list(t.pos[0])) {
    if (rt.input.mailboxExists !== undefined && !(await rt.input.mailboxExists(name))) return false;
  }
  rt.budget.checkTime();
  return true;
}

/** RFC 5183: known items; an unknown or unset item makes the test false. */
function environment(rt: Runtime, t: Test): boolean {
  const name = rt.str(t.pos[0]).toLowerCase();
  const env: Record<string, string> = { name: 'Correo', location: 'MDA', phase: 'during', ...rt.input.environment };
  const v = env[name];
  if (v === undefined) return false;
  return match(rt, t, [v], rt.list(t.pos[1]));
}
