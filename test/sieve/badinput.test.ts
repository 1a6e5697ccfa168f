import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScript, runScript, type Script } from '../../src/sieve/index.js';

/** Issue 11 bad input: a clear error at parse, bounded time at run, the message kept. */

const ENV = { from: 'alice@example.org', to: 'me@example.com' };

function parsed(text: string): Script {
  const r = parseScript(text);
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.script!;
}

test('syntax errors name line and column', { timeout: 30000 }, () => {
  const cases: [string, number, RegExp][] = [
    ['keep', 1, /expected ";" or "\{" after command keep/],
    ['require "fileinto";\n\nif true {\n  fileinto "x";\n', 5, /expected "\}"/],
    ['if header :is "subject" "open\n\n', 1, /unterminated string/],
    ['keep;\n/* never closed', 2, /unterminated comment/],
    ['keep;\nredirect text:\nno dot line\n', 2, /unterminated multi-line/],
    ['if size :over 99999999999 { keep; }', 1, /number too large/],
    ['keep;\n  @', 2, /unexpected character "@"/],
    ['if anyof (true, ) { keep; }', 1, /expected a test/],
  ];
  for (const [text, line, re] of cases) {
    const r = parseScript(text);
    assert.ok(r.errors, text);
    assert.equal(r.errors[0].line, line, text);
    assert.match(r.errors[0].message, re, text);
  }
});

test('unknown extensions, commands, tests and tags', { timeout: 30000 }, () => {
  const r = parseScript('require ["fileinto", "vnd.unknown"];\nfrobnicate;\nif bogus { keep; }\nkeep :sideways;\n');
  assert.deepEqual(r.errors!.map((e) => [e.line, e.message]), [
    [1, 'require: unknown Sieve extension "vnd.unknown"'],
    [2, 'unknown command "frobnicate"'],
    [3, 'unknown test "bogus"'],
    [4, 'keep: unknown tag :sideways'],
  ]);
  const limited = parseScript('require "vacation";', { extensions: ['fileinto'] });
  assert.match(limited.errors![0].message, /unknown Sieve extension "vacation"/);
});

test('10,000 nested ifs: refused at the nesting limit, quickly', { timeout: 30000 }, () => {
  const text = 'if true {\n'.repeat(10000) + 'keep;\n' + '}\n'.repeat(10000);
  const t0 = Date.now();
  const r = parseScript(text);
  assert.ok(Date.now() - t0 < 2000);
  assert.deepEqual(r.errors, [{ line: 33, column: 9, message: 'blocks nested more than 32 deep' }]);
  const tests = 'if ' + 'not '.repeat(10000) + 'true { keep; }';
  assert.match(parseScript(tests).errors![0].message, /tests nested more than 32 deep/);
});

test('a 10 MB script: refused by size at once; the largest allowed parses in bounded time', { timeout: 60000 }, () => {
  const big = '# ' + 'x'.repeat(10 * 1024 * 1024) + '\nkeep;\n';
  const t0 = Date.now();
  const r = parseScript(big);
  assert.match(r.errors![0].message, /script too large: \d+ octets, the limit is 1048576/);
  assert.ok(Date.now() - t0 < 2000);
  // raised limit: 10 MB of real commands still parse in linear time
  const many = 'require "fileinto";\n' + 'if header :contains "subject" "x" { fileinto "a"; }\n'.repeat(200000);
  const t1 = Date.now();
  const ok = parseScript(many, { maxSize: 16 * 1024 * 1024 });
  assert.equal(ok.errors, undefined);
  assert.ok(Date.now() - t1 < 20000, `${Date.now() - t1} ms`);
});

test('regexes that backtrack forever elsewhere run in linear time here', { timeout: 30000 }, async () => {
  const subject = 'a'.repeat(30000);
  const message = Buffer.from(`Subject: ${subject}\r\n\r\nx\r\n`);
  for (const re of ['(a|aa)*c', '(a*)*b', '^(a+)+$x', '(.*a){20}z']) {
    const s = parsed(`require ["regex", "fileinto"]; if header :regex "subject" "${re}" { fileinto "m"; }`);
    const t0 = Date.now();
    const r = await runScript(s, { message, envelope: ENV });
    const ms = Date.now() - t0;
    assert.ok(ms < 5000, `${re}: ${ms} ms`);
    // either no match (implicit keep) or the step limit (implicit keep with the reason)
    assert.equal(r.actions[0].type, 'keep', re);
  }
  assert.match(parseScript('require "regex"; if header :regex "s" "((a{255}){255}){255}" { keep; }').errors![0].message, /regex too large|bad repetition/);
  assert.match(parseScript('require "regex"; if header :regex "s" "(a)\\\\1" { keep; }').errors![0].message, /backreferences/);
  // :matches with many stars is bounded by the step budget too
  const stars = parsed(`if header :matches "subject" "${'*a'.repeat(500)}b" { discard; }`);
  const t1 = Date.now();
  const r = await runScript(stars, { message, envelope: ENV });
  assert.ok(Date.now() - t1 < 5000);
  assert.equal(r.actions[0].type, 'keep');
  // and a budget of a few steps stops it with the reason
  const tight = await runScript(stars, { message, envelope: ENV }, { maxSteps: 1000 });
  assert.match(tight.error!.message, /step limit/);
});

test('NULs: refused in a script; in header values they are just octets', { timeout: 30000 }, async () => {
  const r = parseScript('keep;\nif header :is "subject" "a\0b" { keep; }');
  assert.deepEqual(r.errors, [{ line: 2, column: 27, message: 'NUL character in script' }]);
  const message = Buffer.from('Subject: evil\0value\r\nFrom: a\0b@example.org\r\n\r\nbody\0\r\n');
  const s = parsed('require ["fileinto", "body", "imap4flags"]; if header :contains "subject" "value" { fileinto "nul"; } '
    + 'if address :all :contains "from" "example" { addflag "x"; } if body :contains "body" { keep; }');
  const ok = await runScript(s, { message, envelope: ENV });
  assert.equal(ok.error, undefined);
  assert.deepEqual(ok.actions.map((a) => a.type === 'fileinto' ? a.mailbox : a.type), ['nul', 'keep']);
  assert.deepEqual((ok.actions[1] as { flags: string[] }).flags, ['x']);
  // a NUL made with encoded-character cannot become a mailbox name: keep, with the reason
  const enc = await runScript(parsed('require ["fileinto", "encoded-character"]; fileinto "a${hex:00}b";'), { message, envelope: ENV });
  assert.match(enc.error!.message, /invalid mailbox name/);
  assert.deepEqual(enc.actions, [{ type: 'keep', flags: [], implicit: true }]);
});

test('a message that is not a message still runs', { timeout: 30000 }, async () => {
  const s = parsed('require ["body", "fileinto"]; if body :contains "x" { fileinto "b"; } if exists "from" { discard; }');
  for (const raw of ['', '\r\n', 'no header at all', '\0\0\0', 'Subject: x\r\n'.repeat(20000)]) {
    const r = await runScript(s, { message: Buffer.from(raw), envelope: ENV });
    assert.ok(r.actions.length > 0);
  }
});
