import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScript, runScript, SIEVE_EXTENSIONS, type Script } from '../../src/sieve/index.js';

const MSG = Buffer.from([
  'From: Alice <alice@example.org>',
  'To: me+lists@example.com',
  'Subject: hello world',
  'Message-ID: <1@example.org>',
  'Date: Tue, 1 Jul 2003 10:52:37 +0200',
  '',
  'body text',
  '',
].join('\r\n'));

function parsed(text: string): Script {
  const r = parseScript(text);
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.script!;
}

const ENV = { from: 'alice@example.org', to: 'me+lists@example.com' };

test('the API: parse, then run to a list of actions', { timeout: 30000 }, async () => {
  const s = parsed('require ["fileinto", "variables", "subaddress"];\r\n'
    + 'if address :detail "to" "lists" { fileinto "Lists/${0}"; }\r\n'
    + 'if header :matches "subject" "* world" { set "w" "${1}"; fileinto "W-${w}"; }\r\n');
  const r = await runScript(s, { message: MSG, envelope: ENV });
  assert.deepEqual(r.actions.map((a) => a.type === 'fileinto' ? a.mailbox : a.type), ['Lists/', 'W-hello']);
  assert.equal(r.error, undefined);
});

test('implicit keep when nothing cancels it; discard alone is a discard', { timeout: 30000 }, async () => {
  const r1 = await runScript(parsed('if false { discard; }'), { message: MSG, envelope: ENV });
  assert.deepEqual(r1.actions, [{ type: 'keep', flags: [], implicit: true }]);
  const r2 = await runScript(parsed('discard;'), { message: MSG, envelope: ENV });
  assert.deepEqual(r2.actions, [{ type: 'discard' }]);
});

test('errors carry line and column', { timeout: 30000 }, () => {
  const r = parseScript('require "fileinto";\nif true {\n  fileinto "a"\n}\n');
  assert.ok(r.errors);
  assert.equal(r.errors[0].line, 4);
  assert.match(r.errors[0].message, /expected ";"/);
  const u = parseScript('require ["fileinto", "x-unknown"];\n');
  assert.deepEqual(u.errors?.map((e) => [e.line, e.message]), [[1, 'require: unknown Sieve extension "x-unknown"']]);
  const n = parseScript('fileinto "x";');
  assert.match(n.errors![0].message, /needs require "fileinto"/);
});

test('the extension list names what a script may require', { timeout: 30000 }, () => {
  for (const ext of ['fileinto', 'vacation', 'vacation-seconds', 'include', 'duplicate', 'editheader', 'regex']) {
    assert.ok(SIEVE_EXTENSIONS.includes(ext), ext);
  }
  const all = parseScript(`require ${JSON.stringify(SIEVE_EXTENSIONS)};`);
  assert.equal(all.errors, undefined);
});
