import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAliases } from '../../src/config/aliases.js';
import { ConfigError } from '../../src/config/errors.js';

test('aliases(5) format: comments, continuation lines, quoted names, defaults kept', () => {
  const a = parseAliases(
    "# the seed's aliases\n" +
      'webmaster: usr1, usr2\n' +
      'ventas:   usr3,\n' +
      '          Boss@Remote.TEST\n' +
      '\n' +
      '"sales team": usr3\n' +
      'root: admin\n',
    '/etc/aliases',
  );
  assert.deepEqual(a.get('webmaster'), ['usr1', 'usr2']);
  assert.deepEqual(a.get('ventas'), ['usr3', 'Boss@remote.test'], 'local parts keep their case, domains do not');
  assert.deepEqual(a.get('sales team'), ['usr3']);
  assert.deepEqual(a.get('root'), ['admin']);
  assert.deepEqual(a.get('postmaster'), ['root'], 'postmaster: root exists by default (S16)');
  assert.deepEqual(a.get('mailer-daemon'), ['postmaster'], 'MAILER-DAEMON: postmaster exists by default (S16)');
});

test('a file may override the default postmaster alias', () => {
  assert.deepEqual(parseAliases('Postmaster: usr1\n', 'f').get('postmaster'), ['usr1']);
});

test('bad input: mistakes name the file and line', () => {
  const cases: [string, number, RegExp][] = [
    ['ok: a\nnot an alias line\n', 2, /expected "name: target/],
    ['  leading: continuation\n', 1, /continuation line without an alias/],
    ['a: b\na: c\n', 2, /defined twice/],
    ['a:\n', 1, /no target/],
    ['x@example.test: y\n', 1, /must be a local part/],
    ['a: "unterminated\n', 1, /unterminated quote/],
    ['a: :include:relative/list\n', 1, /absolute path/],
    ['a: error:bogus text\n', 1, /unknown error name "bogus"/],
    ['a: two words\n', 1, /not an address/],
  ];
  for (const [text, line, re] of cases) {
    assert.throws(() => parseAliases(text, '/etc/correo/aliases'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.line, line, text);
      assert.match(e.message, re);
      assert.ok(e.message.startsWith(`/etc/correo/aliases:${line}: `));
      return true;
    });
  }
});
