import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseVirtusertable } from '../../src/maps/virtusertable.js';
import { parseLocalHostNames, parseRelayDomains } from '../../src/maps/domains.js';
import { WatchedFile } from '../../src/maps/watched.js';
import { mapLines, stripComment } from '../../src/maps/lines.js';
import { parseAccess } from '../../src/maps/access.js';
import { ConfigError } from '../../src/config/errors.js';

test('virtusertable: exact, user+*, user, @domain catch-all, %1 %2 %3, errors, redirects', () => {
  const t = parseVirtusertable(
    [
      'info@virtual.test      usr1',
      'sales@virtual.test     boss@remote.test   # a remote address',
      'bob+*@virtual.test     bob-%2@example.test',
      'carol@virtual.test     carol@example.test',
      '@virtual.test          %1%3@example.test',
      '@old.test              error:nouser 5.1.1 This domain has moved',
      'gone@virtual.test      new@where.test.REDIRECT',
      'nobody@virtual.test    error:5.7.0:550 Address invalid',
    ].join('\n'),
    'vt',
  );
  assert.deepEqual([...t.domains].sort(), ['old.test', 'virtual.test']);
  assert.deepEqual(t.lookup('info@virtual.test')?.target, { kind: 'address', address: 'usr1' });
  assert.deepEqual(t.lookup('INFO@Virtual.Test')?.target, { kind: 'address', address: 'usr1' }, 'keys are case-insensitive');
  assert.deepEqual(t.lookup('sales@virtual.test')?.target, { kind: 'address', address: 'boss@remote.test' });
  assert.deepEqual(t.lookup('bob+lists@virtual.test')?.target, { kind: 'address', address: 'bob-lists@example.test' });
  assert.deepEqual(t.lookup('carol+x@virtual.test')?.target, { kind: 'address', address: 'carol@example.test' }, 'user@domain also takes user+detail');
  assert.deepEqual(t.lookup('dave@virtual.test')?.target, { kind: 'address', address: 'dave@example.test' });
  assert.deepEqual(t.lookup('dave+tag@virtual.test')?.target, { kind: 'address', address: 'dave+tag@example.test' });
  assert.deepEqual(t.lookup('x@old.test')?.target, { kind: 'error', code: 550, enhanced: '5.1.1', text: 'This domain has moved' });
  assert.deepEqual(t.lookup('gone@virtual.test')?.target, { kind: 'redirect', address: 'new@where.test' });
  assert.deepEqual(t.lookup('nobody@virtual.test')?.target, { kind: 'error', code: 550, enhanced: '5.7.0', text: 'Address invalid' });
  assert.equal(t.lookup('x@example.test'), undefined, 'not a virtual domain');
});

test('virtusertable mistakes are FILE:LINE errors', () => {
  const cases: [string, number, RegExp][] = [
    ['a@v.test usr\nb@v.test\n', 2, /has no target/],
    ['novirtual usr\n', 1, /user@domain or @domain/],
    ['a@v.test |/bin/prog\n', 1, /belong in the aliases file/],
    ['a@v.test error:oops text\n', 1, /unknown error name "oops"/],
    ['a@v.test x\nA@V.TEST y\n', 2, /already listed on line 1/],
    ['a@v.test %4@x.test\n', 1, /only %1, %2 and %3/],
    ['a@bad_domain! x\n', 1, /not a domain/],
  ];
  for (const [text, line, re] of cases) {
    assert.throws(() => parseVirtusertable(text, '/etc/correo/virtusertable'), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.line, line, text);
      assert.match(e.message, re);
      assert.ok(e.message.startsWith(`/etc/correo/virtusertable:${line}: `));
      return true;
    });
  }
});

test('relay-domains: domains cover subdomains, networks cover clients, the seed\'s "dominio.com.uy RELAY" line', () => {
  const rd = parseRelayDomains('dominio.com.uy RELAY\nbackup.test\n192.0.2.\n10.0.0.0/8  # office\n', 'rd');
  assert.ok(rd.covers('dominio.com.uy'));
  assert.ok(rd.covers('mail.Dominio.com.uy'));
  assert.ok(!rd.covers('otrodominio.com.uy'));
  assert.ok(rd.covers('backup.test'));
  assert.ok(rd.coversIp('192.0.2.77'));
  assert.ok(rd.coversIp('10.200.0.1'));
  assert.ok(!rd.coversIp('192.0.3.1'));
  assert.throws(() => parseRelayDomains('ok.test\nx.test REJECT\n', 'rd'), /^Error: rd:2: one domain, address or network per line/);
});

test('local-host-names: exact names only, one per line', () => {
  const l = parseLocalHostNames('dominio.com.uy\n# comment\n  correo.dominio.com.uy  \n', 'lhn');
  assert.ok(l.has('dominio.com.uy'));
  assert.ok(l.has('CORREO.dominio.com.uy'));
  assert.ok(!l.has('x.dominio.com.uy'), 'no subdomains in class w');
  assert.throws(() => parseLocalHostNames('a.test\nb.test c.test\n', 'lhn'), (e: unknown) => e instanceof ConfigError && e.line === 2);
  assert.throws(() => parseLocalHostNames('10.0.0.0/8\n', 'lhn'), /lhn:1: "10\.0\.0\.0\/8" is not a host or domain name/);
});

test('comments: # anywhere outside quotes; CRLF; blank lines keep line numbers', () => {
  assert.equal(stripComment('a b # c'), 'a b ');
  assert.equal(stripComment('a "b # c" # d'), 'a "b # c" ');
  assert.deepEqual(mapLines('\r\n# x\r\n  k v # c\r\n\r\nk2 v2'), [{ n: 3, text: 'k v' }, { n: 5, text: 'k2 v2' }]);
});

test('a watched map is re-read on change; a bad or removed version keeps the last good one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-maps-'));
  try {
    const file = join(dir, 'access');
    writeFileSync(file, '1.2.3.4 REJECT\n');
    const w = new WatchedFile('access', file, parseAccess, () => parseAccess('', ''), null, 0);
    assert.equal(w.get().client('1.2.3.4', null)?.action.kind, 'REJECT');
    writeFileSync(file, '1.2.3.4 OK\n5.6.7.8 WHAT\n');
    utimesSync(file, new Date(), new Date(Date.now() + 2000));
    assert.equal(w.get().client('1.2.3.4', null)?.action.kind, 'REJECT', 'the broken version is not used');
    assert.match(w.error ?? '', /access:2: unknown value "WHAT"/);
    writeFileSync(file, '1.2.3.4 OK\n');
    utimesSync(file, new Date(), new Date(Date.now() + 4000));
    assert.equal(w.get().client('1.2.3.4', null)?.action.kind, 'OK');
    assert.equal(w.error, null);
    // Fail closed (issue 9 item 10): a removed file no longer empties the map.
    rmSync(file);
    assert.equal(w.get().client('1.2.3.4', null)?.action.kind, 'OK');
    assert.match(w.error ?? '', /access: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
