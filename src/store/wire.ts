import { QuotaExceededError } from './types.js';
import { SieveStoreError, type SieveErrorCode } from './sieve.js';
import type { WireError } from './batch.js';

/**
 * Values crossing the writer thread: structured clone keeps plain data but turns our error
 * classes into bare Errors (QuotaExceededError must stay one: IMAP and the queue answer it
 * with their own codes), so errors travel as tagged objects and are rebuilt here.
 */
const TAG = '__storeError';

function toWire(e: Error): WireError {
  const props: Record<string, unknown> = {};
  if (e instanceof QuotaExceededError) Object.assign(props, { address: e.address, resource: e.resource, limit: e.limit });
  if (e instanceof SieveStoreError) props.code = e.code;
  return { name: e.name, message: e.message, stack: e.stack, code: (e as NodeJS.ErrnoException).code, props };
}

function fromWire(w: WireError): Error {
  if (w.name === 'QuotaExceededError' && w.props) {
    const p = w.props as { address: string; resource: 'STORAGE' | 'MESSAGE'; limit: number };
    return new QuotaExceededError(p.address, p.resource, p.limit);
  }
  if (w.name === 'SieveStoreError' && w.props) return new SieveStoreError(w.props.code as SieveErrorCode, w.message);
  const e = new Error(w.message);
  e.name = w.name;
  if (w.stack) e.stack = w.stack;
  if (w.code) (e as NodeJS.ErrnoException).code = w.code;
  return e;
}

/** Replaces every Error inside `v` (arrays, plain objects) by its tagged wire form. */
export function encode(v: unknown): unknown {
  if (v instanceof Error) return { [TAG]: toWire(v) };
  if (Array.isArray(v)) return v.map(encode);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = encode(x);
    return out;
  }
  return v;
}

export function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Record<string, unknown>;
    if (TAG in o) return fromWire(o[TAG] as WireError);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = decode(x);
    return out;
  }
  return v;
}
