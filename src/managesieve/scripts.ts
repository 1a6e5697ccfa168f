import { parseScript, formatErrors, SIEVE_EXTENSIONS } from '../sieve/index.js';
import type { SieveConfig } from '../config/types.js';
import type { SieveQuota } from '../store/sieve.js';

/**
 * What ManageSieve (RFC 5804) and `correo sieve` share: script names, the syntax check at
 * upload (the Sieve engine's parser, errors as "line N: ..."), and the quota.
 */

/** The SIEVE capability (RFC 5804 1.7): every extension the engine implements. */
export const sieveCapability = (): string => SIEVE_EXTENSIONS.join(' ');

export function quotaOf(c: SieveConfig): SieveQuota {
  return { maxScriptSize: c.max_script_size, maxScripts: c.max_scripts };
}

/** Longest script name we keep, in octets (RFC 5804 1.6 sets no bound; names are for people). */
export const MAX_NAME = 512;

/**
 * RFC 5804 1.6: a script name is non-empty UTF-8 without control characters (0-1F, 7F, 80-9F)
 * and without U+2028/U+2029. Returns why a name is refused, or null.
 */
export function badName(name: string): string | null {
  if (!name.length) return 'the script name is empty';
  if (Buffer.byteLength(name) > MAX_NAME) return `the script name is longer than ${MAX_NAME} octets`;
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name)) return 'the script name holds a control character';
  return null;
}

/** UTF-8 text of a string argument, or null when its octets are not UTF-8 (RFC 5804 1.6, RFC 5228 2.2). */
export function utf8(b: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return null;
  }
}

/** The syntax check of an upload: null when the script is valid, else the errors as "line N: message" lines. */
export function checkScript(text: string, config: SieveConfig): string | null {
  const r = parseScript(text, { maxSize: config.max_script_size });
  return r.errors ? formatErrors(r.errors) : null;
}
