import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseScript, runScript } from '../../src/sieve/index.js';
import { compileRegex, regexSearch, RegexError } from '../../src/sieve/regex.js';
import { byteSoup, check, soup, TEST_TIMEOUT } from './runner.js';

/** The Sieve parser, interpreter and regex matcher (src/sieve/): issue 11's bad input, generated. */

const SIEVE_PIECES = [
  'require ', '"fileinto"', '["variables", "imap4flags", "regex", "relational", "body", "editheader"]', 'if ', 'elsif ', 'else ',
  '{', '}', '(', ')', '[', ']', ',', ';', ' ', '\n', '\r\n', 'header ', 'address ', 'anyof', 'allof', 'not ', 'true', 'false',
  ':is ', ':contains ', ':matches ', ':regex ', ':value "gt" ', ':count "eq" ', ':comparator "i;ascii-numeric" ', ':over ',
  'size ', 'exists ', '"subject"', '"a*b?"', '"${1}"', '"\\"', '"x"', 'keep;', 'discard;', 'stop;', 'fileinto "A";',
  'set "v" "${0}";', 'addflag "x";', 'addheader "X" "y";', 'deleteheader "subject";', 'text:\n', '\n.\n', '#', '/*', '*/',
  '100K', '4294967296', '"(a|aa)*$"', ':', 'é', '\0',
];

const MESSAGE_PIECES = ['Subject: ', 'From: ', 'To: a@b.c, ', '<x@y>', '\r\n', '\n', ' ', ':', 'Content-Type: multipart/mixed; boundary=b\r\n', '--b\r\n', '--b--', '=?utf-8?q?a=C3?=', '\0', 'aaaa'];

test('fuzz: any text as a script gives a script or errors at a line of the text, never a throw', { timeout: TEST_TIMEOUT }, () => {
  check([soup(SIEVE_PIECES, 50)], (text) => {
    const r = parseScript(text);
    if (r.errors === undefined) return;
    assert.ok(r.errors.length > 0);
    const lines = text.split('\n').length;
    for (const e of r.errors) assert.ok(e.line >= 1 && e.line <= lines + 1 && e.column >= 1, JSON.stringify(e));
  });
});

test('fuzz: scripts that parse run on any message to actions, never an internal error', { timeout: TEST_TIMEOUT }, async () => {
  const samples = fc.sample(fc.tuple(soup(SIEVE_PIECES, 40), byteSoup(MESSAGE_PIECES, 40)), Number(process.env.FUZZ_RUNS ?? 300) * 3);
  let ran = 0;
  for (const [text, message] of samples) {
    const r = parseScript(text);
    if (r.errors !== undefined) continue;
    const out = await runScript(r.script, { message, envelope: { from: 'a@b.c', to: 'me@d.e' } }, { maxMillis: 3000 });
    assert.ok(out.actions.length > 0);
    assert.ok(!/internal error/.test(out.error?.message ?? ''), `${JSON.stringify(text)}: ${out.error?.message}`);
    ran++;
  }
  assert.ok(ran > 0);
});

const RE_PIECES = ['a', 'b', 'ab', '|', '*', '+', '?', '(', ')', '.', '^', '$', '{2}', '{1,3}', '[ab]', '[^a]'];

test('fuzz: the regex matcher agrees with a backtracking engine on what matches', { timeout: TEST_TIMEOUT }, () => {
  check([soup(RE_PIECES, 12), fc.stringMatching(/^[abc]{0,12}$/)], (pattern, text) => {
    // a quantifier then "?" is lazy in JavaScript but a repeated repetition in POSIX ERE
    if (/[*+?}]\?/.test(pattern)) return;
    let js: RegExp;
    try {
      js = new RegExp(pattern);
    } catch {
      return;
    }
    let re;
    try {
      re = compileRegex(pattern, false);
    } catch (e) {
      assert.ok(e instanceof RegexError);
      return;
    }
    const ours = regexSearch(re, text, () => {});
    const theirs = js.exec(text);
    assert.equal(ours !== null, theirs !== null, `${pattern} on ${text}`);
    if (ours !== null && theirs !== null) assert.equal(ours[0], theirs[0], `${pattern} on ${text}`);
  });
});
