import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMail, parseRcpt, splitCommand, decodeXtext } from '../../src/smtp/command.js';
import { parsePath, isDomain, isAddressLiteral } from '../../src/smtp/address.js';

const rcpt = (arg: string, smtputf8 = false) => parseRcpt(arg, { smtputf8, postmasterDomain: 'example.test' });

function rcptAddress(arg: string): string {
  const r = rcpt(arg);
  assert.ok(r.ok, `${arg}: ${!r.ok && JSON.stringify(r.reply)}`);
  return r.value.address;
}

function refused(r: ReturnType<typeof parseRcpt> | ReturnType<typeof parseMail>, code: number, enhanced: string, what: string): void {
  assert.equal(r.ok, false, `${what} should be refused`);
  if (!r.ok) {
    assert.equal(r.reply.code, code, what);
    assert.equal(r.reply.enhanced, enhanced, what);
  }
}

test('command lines: verb, argument, noise', () => {
  const ok = (s: string) => {
    const r = splitCommand(Buffer.from(s, 'latin1'));
    assert.ok(r.ok, s);
    return r.value;
  };
  assert.deepEqual(ok('ehlo client.example'), { verb: 'EHLO', arg: 'client.example' });
  assert.deepEqual(ok('QUIT'), { verb: 'QUIT', arg: '' });
  assert.deepEqual(ok('MAIL FROM:<a@b>'), { verb: 'MAIL', arg: 'FROM:<a@b>' });
  for (const noise of ['\x00\x01\x02', 'NO\x1bOP', '\xff\xfe', 'M\xc3(AIL', 'NOOP\r', '12345 x']) {
    const r = splitCommand(Buffer.from(noise, 'latin1'));
    assert.equal(r.ok, false, JSON.stringify(noise));
    if (!r.ok) assert.equal(r.reply.code, 500);
  }
});

test('MAIL FROM: paths and parameters (RFC 5321 4.1.2, 1870, 6152, 6531, 3461)', () => {
  const m = parseMail('FROM:<sender@remote.test> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=abc+2Bdef');
  assert.ok(m.ok);
  assert.deepEqual(m.value, { sender: 'sender@remote.test', params: { size: 1000, body: '8BITMIME', smtputf8: false, ret: 'HDRS', envid: 'abc+def' } });
  const nul = parseMail('FROM:<>');
  assert.ok(nul.ok && nul.value.sender === '');
  const spaced = parseMail('from: <a@b.test>');
  assert.ok(spaced.ok && spaced.value.sender === 'a@b.test', 'a space after the colon is tolerated');
  const utf = parseMail('FROM:<jösé@bücher.test> SMTPUTF8');
  assert.ok(utf.ok && utf.value.sender === 'jösé@bücher.test' && utf.value.params.smtputf8);
  refused(parseMail('FROM:<jösé@bücher.test>'), 553, '5.6.7', 'UTF-8 sender without SMTPUTF8');
  refused(parseMail('FROM:a@b.test'), 501, '5.1.7', 'no angle brackets');
  refused(parseMail('FROM:<a@b.test'), 501, '5.1.7', 'unclosed');
  refused(parseMail('FROM:<a@b.test>x'), 501, '5.1.7', 'junk after path');
  refused(parseMail('TO:<a@b.test>'), 501, '5.5.4', 'wrong keyword');
  refused(parseMail('FROM:<a@b.test> SIZE=abc'), 501, '5.5.4', 'bad SIZE');
  refused(parseMail('FROM:<a@b.test> SIZE=1 SIZE=2'), 501, '5.5.4', 'duplicate');
  refused(parseMail('FROM:<a@b.test> BODY=BINARYMIME'), 501, '5.5.4', 'BINARYMIME without CHUNKING');
  refused(parseMail('FROM:<a@b.test> XFOO=1'), 555, '5.5.4', 'unknown parameter');
  refused(parseMail('FROM:<a@b.test> ENVID=a=b'), 501, '5.5.4', 'bad xtext');
});

test('RCPT TO: addresses, postmaster, DSN parameters', () => {
  assert.equal(rcptAddress('TO:<usr@example.test>'), 'usr@example.test');
  assert.equal(rcptAddress('TO:<Postmaster>'), 'postmaster@example.test', 'RFC 5321 4.1.1.3 bare postmaster');
  assert.equal(rcptAddress('to:<POSTMASTER>'), 'postmaster@example.test');
  const r = rcpt('TO:<u@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40example.test');
  assert.ok(r.ok);
  assert.deepEqual(r.value, { address: 'u@example.test', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;u@example.test' });
  assert.ok(rcpt('TO:<u@example.test> NOTIFY=NEVER').ok);
  refused(rcpt('TO:<u@example.test> NOTIFY=NEVER,SUCCESS'), 501, '5.5.4', 'NEVER combined');
  refused(rcpt('TO:<u@example.test> ORCPT=nosemicolon'), 501, '5.5.4', 'ORCPT without type');
  refused(rcpt('TO:<>'), 501, '5.1.3', 'null forward-path');
  refused(rcpt('TO:<ü@example.test>'), 553, '5.6.7', 'UTF-8 recipient without SMTPUTF8');
  assert.equal(rcpt('TO:<ü@example.test>', true).ok, true);
});

test('classic relay tricks parse to the address that really gets checked', () => {
  // Source routes are ignored (RFC 5321 4.1.1.3): the final mailbox is what is checked.
  assert.equal(rcptAddress('TO:<@example.test:victim@remote.test>'), 'victim@remote.test');
  assert.equal(rcptAddress('TO:<@a.test,@example.test:usr@example.test>'), 'usr@example.test');
  // % and ! hacks stay in the local part of OUR domain: an unknown local user, never a relay.
  assert.equal(rcptAddress('TO:<victim%remote.test@example.test>'), 'victim%remote.test@example.test');
  assert.equal(rcptAddress('TO:<remote.test!victim@example.test>'), 'remote.test!victim@example.test');
  // A quoted local part keeps its @ inside the quotes; the domain is after the last @.
  assert.equal(rcptAddress('TO:<"victim@remote.test"@example.test>'), '"victim@remote.test"@example.test');
  assert.equal(rcptAddress('TO:<"usr"@example.test>'), 'usr@example.test', 'needless quotes removed');
  assert.equal(rcptAddress('TO:<"a b\\"c"@example.test>'), '"a b\\"c"@example.test');
  // Tricks that are simply not addresses.
  for (const bad of ['TO:<victim@remote.test@example.test>', 'TO:<victim@remote.test>@example.test', 'TO:<@example.test>',
    'TO:<usr@example.test,victim@remote.test>', 'TO:<usr@[1.2.3]>', 'TO:<a..b@example.test>', 'TO:<.a@example.test>',
    'TO:<usr@-bad.test>', 'TO:<usr@example..test>', 'TO:<"unterminated@example.test>', 'TO:<usr@example.test>>']) {
    assert.equal(rcpt(bad).ok, false, bad);
  }
});

test('address syntax pieces', () => {
  assert.ok(isDomain('example.test'));
  assert.ok(isDomain('a-b.example'));
  assert.ok(!isDomain('a_b.example'));
  assert.ok(!isDomain('x'.repeat(64) + '.test'));
  assert.ok(isAddressLiteral('[127.0.0.1]'));
  assert.ok(isAddressLiteral('[IPv6:::1]'));
  assert.ok(!isAddressLiteral('[IPv6:zz]'));
  assert.ok(!isAddressLiteral('[300.1.1.1]'));
  const p = parsePath('<u@[127.0.0.1]>', 0, false);
  assert.ok(p.ok && p.mailbox?.domain === '[127.0.0.1]');
  assert.equal(decodeXtext('a+2Bb'), 'a+b');
  assert.equal(decodeXtext('a+2b'), null, 'hex must be upper case');
});

test('path parser never throws on arbitrary input', () => {
  let seed = 7;
  const chars = '<>@:,."\\ab.[]IPv6 \u00fc%!';
  for (let round = 0; round < 20000; round++) {
    let s = 'TO:<';
    const len = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 20;
    for (let i = 0; i < len; i++) s += chars[(seed = (seed * 1103515245 + 12345) & 0x7fffffff) % chars.length];
    const r = rcpt(s, true);
    if (r.ok) assert.ok(r.value.address.includes('@'), s);
  }
});
