import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CommandParser, type ParseEvent, type ParserLimits, type Token } from '../../src/imap/parser.js';
import { parseSequenceSet } from '../../src/imap/sequence.js';
import { parseSectionSpec, SectionSyntaxError } from '../../src/mime/section.js';
import { parseSearch } from '../../src/imap/search.js';
import { parseSection } from '../../src/imap/commands/fetch.js';
import { Args } from '../../src/imap/args.js';
import { ImapError } from '../../src/imap/errors.js';
import { check, cuts, split, byteSoup, soup, pull, TEST_TIMEOUT } from './runner.js';

/** The IMAP command receiver (RFC 9051 2.2, 4, 9): commands, literals, nesting. */

/** Events from feeding `chunks`; "+ continue" depends on the cut, so it is left out. */
function events(p: CommandParser, chunks: Buffer[]): ParseEvent[] {
  return pull(p, chunks, (ev: ParseEvent) => (ev.kind === 'continue' ? null : ev));
}

function depth(tokens: Token[]): number {
  let d = 0;
  for (const t of tokens) if (t.kind === 'list') d = Math.max(d, 1 + depth(t.items));
  return d;
}

const limits = fc.record({
  maxLineLength: fc.integer({ min: 8, max: 200 }),
  maxLiteralSize: fc.integer({ min: 0, max: 40 }),
  maxLiterals: fc.integer({ min: 1, max: 4 }),
  maxCommandSize: fc.integer({ min: 16, max: 400 }),
  maxDepth: fc.integer({ min: 1, max: 5 }),
  maxNonSyncLiteralSize: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  hangUpOnLongLine: fc.boolean(),
}, { requiredKeys: ['maxLineLength', 'maxLiteralSize', 'maxLiterals', 'maxCommandSize', 'maxDepth'] }) as fc.Arbitrary<ParserLimits>;

const PIECES = ['a1 ', 'A2 ', '* ', '+ ', 'LOGIN ', 'FETCH 1:* ', 'BODY[HEADER.FIELDS (From)]<0.10>', 'APPEND INBOX ', '(', ')', '((((', '))))', '"', '\\', '\\"', ' ', '{3}', '{3+}', '{2-}', '~{4}', '{99999999999}', '{0}', '\r\n', '\n', '\r', 'abc', '[', ']', '\x00', '\x7f', '\xe9', 'NIL', '%', '*'];

test('fuzz: IMAP commands parse the same however the bytes are cut; limits hold', { timeout: TEST_TIMEOUT }, () => {
  check([byteSoup(PIECES, 40), cuts, limits], (input, at, lim) => {
    const whole = events(new CommandParser(lim), [input]);
    const cut = events(new CommandParser(lim), split(input, at));
    assert.deepEqual(cut, whole);
    for (const ev of whole) {
      if (ev.kind !== 'command') continue;
      assert.ok(depth(ev.tokens) <= lim.maxDepth + 1, 'nesting limit');
      const lits = (ts: Token[]): Token[] => ts.flatMap((t) => (t.kind === 'list' ? lits(t.items) : t.kind === 'string' && t.literal ? [t] : []));
      for (const l of lits(ev.tokens)) assert.ok(l.kind === 'string' && l.value.length <= lim.maxLiteralSize, 'literal limit');
      assert.ok(lits(ev.tokens).length <= lim.maxLiterals, 'literal count limit');
    }
  });
});

// Round trip: a command built as a token tree, written out, parses back to that tree.
const ATOM_CHARS = 'abcXYZ019!#$&\'+,-./:;<=>?@^_`|}~'.split('');
const atomArb = fc.array(fc.constantFrom(...ATOM_CHARS), { minLength: 1, maxLength: 8 }).map((a) => a.join(''));
/** RFC 9051 9: tag = 1*<any ASTRING-CHAR except "+">. */
const tagArb = fc.array(fc.constantFrom(...ATOM_CHARS.filter((c) => c !== '+')), { minLength: 1, maxLength: 8 }).map((a) => a.join(''));
const quotedArb = fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', '(', ')', '{', '%', 'é'), maxLength: 8 });
const literalArb = fc.tuple(fc.uint8Array({ maxLength: 12 }), fc.constantFrom('', '+', '-'), fc.boolean());

type Tree = { kind: 'atom'; v: string } | { kind: 'quoted'; v: string } | { kind: 'literal'; v: Uint8Array; mark: string; binary: boolean } | { kind: 'list'; items: Tree[] };

const { tree } = fc.letrec<{ tree: Tree; node: Tree }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atomArb.map((v): Tree => ({ kind: 'atom', v })),
    quotedArb.map((v): Tree => ({ kind: 'quoted', v })),
    literalArb.map(([v, mark, binary]): Tree => ({ kind: 'literal', v, mark, binary })),
    fc.array(tie('node'), { maxLength: 4 }).map((items): Tree => ({ kind: 'list', items })),
  ),
  tree: fc.array(tie('node'), { maxLength: 5 }).map((items): Tree => ({ kind: 'list', items })),
}));

/** Writes tokens as a client would; a literal's octets follow its `{n}` line. */
function write(items: Tree[]): Buffer {
  const parts: Buffer[] = [];
  items.forEach((t, i) => {
    if (i) parts.push(Buffer.from(' '));
    if (t.kind === 'atom') parts.push(Buffer.from(t.v, 'latin1'));
    else if (t.kind === 'quoted') parts.push(Buffer.from(`"${t.v.replace(/(["\\])/g, '\\$1')}"`, 'utf8'));
    else if (t.kind === 'literal') parts.push(Buffer.from(`${t.binary ? '~' : ''}{${t.v.length}${t.mark}}\r\n`), Buffer.from(t.v));
    else parts.push(Buffer.from('('), write(t.items), Buffer.from(')'));
  });
  return Buffer.concat(parts);
}

function expected(items: Tree[]): Token[] {
  return items.map((t): Token => {
    if (t.kind === 'atom') return { kind: 'atom', value: t.v };
    if (t.kind === 'quoted') return { kind: 'string', value: Buffer.from(t.v, 'utf8'), literal: false, binary: false };
    if (t.kind === 'literal') return { kind: 'string', value: Buffer.from(t.v), literal: true, binary: t.binary };
    return { kind: 'list', items: expected(t.items) };
  });
}

test('fuzz: a command written from a token tree parses back to that tree, however it is cut', { timeout: TEST_TIMEOUT }, () => {
  check([tagArb, tree, cuts], (tag, args, at) => {
    const wire = Buffer.concat([Buffer.from(`${tag} CMD `), write((args as { items: Tree[] }).items), Buffer.from('\r\nnext NOOP\r\n')]);
    const lim = { maxLineLength: 1000, maxLiteralSize: 100, maxLiterals: 1000, maxCommandSize: 100000, maxDepth: 100 };
    const evs = events(new CommandParser(lim), split(wire, at));
    assert.deepEqual(evs, [
      { kind: 'command', tag, tokens: [{ kind: 'atom', value: 'CMD' }, ...expected((args as { items: Tree[] }).items)] },
      { kind: 'command', tag: 'next', tokens: [{ kind: 'atom', value: 'NOOP' }] },
    ]);
  });
});

test('fuzz: sequence sets and section specs: a value or a syntax error, never a throw', { timeout: TEST_TIMEOUT }, () => {
  check([soup(['1', '0', ':', ',', '*', '$', '4294967295', '4294967296', '99999999999999999999', ' ', '-'], 20)], (s) => {
    const r = parseSequenceSet(s);
    // "*" is Infinity until resolved against the mailbox; numbers are nz-number (RFC 9051 9).
    const ok = (n: number) => n === Infinity || (Number.isInteger(n) && n >= 1 && n <= 4294967295);
    if (r && r.kind === 'set') for (const x of r.ranges) assert.ok(ok(x.from) && ok(x.to) && x.from <= x.to);
  });
  check([soup(['1', '.', '0', 'HEADER', 'HEADER.FIELDS', '.NOT', ' (', 'From', ' ', ')', 'TEXT', 'MIME', '"', '\\'], 15)], (s) => {
    try {
      parseSectionSpec(s);
    } catch (e) {
      if (!(e instanceof SectionSyntaxError)) throw e;
    }
  });
});

const SEARCH_PIECES = ['a1 SEARCH ', 'OR ', 'NOT ', '(', ')', 'ALL ', 'UID 1:* ', '1,2:3 ', 'FROM ', 'HEADER X-A ', '"b" ', '{1+}\r\nc ', 'SINCE 1-Jan-2024 ', 'ON x ', 'LARGER 99999999999999999999 ', 'MODSEQ "/flags/\\\\Seen" all 5 ', 'KEYWORD $x ', 'CHARSET UTF-8 ', '$ ', '* '];

test('fuzz: SEARCH keys and FETCH sections from parsed commands: a program or a BAD, never another throw', { timeout: TEST_TIMEOUT }, () => {
  check([soup(SEARCH_PIECES, 30)], (text) => {
    const evs = events(new CommandParser(), [Buffer.from(text + '\r\n', 'latin1')]);
    for (const ev of evs) {
      if (ev.kind !== 'command') continue;
      for (const run of [() => parseSearch(new Args(ev.tokens.slice(1)), 'UTF-8'), () => parseSection(text.slice(0, 40), false), () => parseSection(text.slice(10), true)]) {
        try {
          run();
        } catch (e) {
          if (!(e instanceof ImapError) && !(e instanceof SectionSyntaxError)) throw e;
        }
      }
    }
  });
});
