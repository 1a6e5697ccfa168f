/**
 * The Sieve engine's API (RFC 5228 and the extensions in SIEVE_EXTENSIONS): parse and check a
 * script once (at upload and before caching), then run it on a message without side effects.
 *
 *   parseScript(text, opts)          -> { script } | { errors: [{ line, column, message }] }
 *   runScript(script, input, limits) -> Promise<{ actions, duplicates, log, error? }>
 *
 * runScript never throws and never loses a message: a run-time error or an exceeded limit
 * ends the run with the actions cancelled and an implicit keep, and `error` says why and where
 * (RFC 5228 2.10.6). Delivery (not this module) stores, sends, remembers vacation replies and
 * duplicate ids. Callbacks in RunInput are the only way the engine sees the outside world.
 */
import { parseCommands } from './parser.js';
import { SieveSyntaxError } from './lexer.js';
import { validate } from './validate.js';
import { SIEVE_EXTENSIONS } from './spec.js';
import { run } from './interpreter.js';
import type { ScriptTree } from './ast.js';
import type { ParseOptions, ParseResult, RunInput, RunLimits, RunResult, Script } from './types.js';

export type * from './types.js';
export { SIEVE_EXTENSIONS } from './spec.js';

export const DEFAULT_PARSE_LIMITS = {
  /** 1 MiB, as Dovecot's sieve_max_script_size default. */
  maxSize: 1024 * 1024,
  /** Nesting of blocks and tests (Pigeonhole allows 32 blocks and 32 tests). */
  maxDepth: 32,
  maxErrors: 20,
};

export const DEFAULT_RUN_LIMITS: RunLimits = {
  maxActions: 32,
  maxRedirects: 4,
  maxSteps: 2_000_000,
  maxMillis: 2000,
  maxIncludeDepth: 10,
  maxVariableSize: 4000,
  maxHeaderSize: 256 * 1024,
};

/** Parses and validates; errors are sorted by position and name line and column. */
export function parseScript(text: string | Buffer, opts: ParseOptions = {}): ParseResult {
  const maxSize = opts.maxSize ?? DEFAULT_PARSE_LIMITS.maxSize;
  const size = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
  if (size > maxSize) {
    return { errors: [{ line: 1, column: 1, message: `script too large: ${size} octets, the limit is ${maxSize}` }] };
  }
  const s = typeof text === 'string' ? text : text.toString('utf8');
  const nul = s.indexOf('\0');
  if (nul >= 0) {
    const before = s.slice(0, nul);
    const line = before.split('\n').length;
    return { errors: [{ line, column: nul - before.lastIndexOf('\n'), message: 'NUL character in script' }] };
  }
  let commands;
  try {
    commands = parseCommands(s, opts.maxDepth ?? DEFAULT_PARSE_LIMITS.maxDepth);
  } catch (e) {
    if (e instanceof SieveSyntaxError) return { errors: [{ line: e.line, column: e.column, message: e.message }] };
    throw e;
  }
  const available = new Set(opts.extensions ?? SIEVE_EXTENSIONS);
  const { requires, errors } = validate(commands, available, opts.maxErrors ?? DEFAULT_PARSE_LIMITS.maxErrors);
  if (errors.length > 0) return { errors };
  const tree: ScriptTree = { kind: 'sieve-script', requires, commands };
  return { script: tree as Script };
}

/** Formats errors as "line N: message" lines (ManageSieve and the CLI show these). */
export function formatErrors(errors: readonly { line: number; column: number; message: string }[]): string {
  return errors.map((e) => `line ${e.line}: ${e.message}`).join('\r\n');
}

/** Runs a script; never throws. Limits missing from `limits` take DEFAULT_RUN_LIMITS. */
export async function runScript(script: Script, input: RunInput, limits: Partial<RunLimits> = {}): Promise<RunResult> {
  return run(script as unknown as ScriptTree, input, { ...DEFAULT_RUN_LIMITS, ...limits }, (text) => parseScript(text));
}
