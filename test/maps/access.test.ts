import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAccess, parseErrorValue, type AccessRule } from '../../src/maps/access.js';
import { ConfigError } from '../../src/config/errors.js';

import { SEED_ACCESS_FILE } from './fixtures.js';

const v = (r: AccessRule | null) => (r ? `${r.action.kind}@${r.line}` : null);

test('the seed access file parses as written and means what sendmail means', () => {
  const text = readFileSync(SEED_ACCESS_FILE, 'utf8');
  assert.ok(text.includes('20.20.139.231 RELAY #UN HOST \n'), 'the fixture is the seed, trailing space included');
  const map = parseAccess(text, 'access');
  assert.equal(map.size, 5);
  // "20.20.128." is the network 20.20.128.0/24; comments after values are comments.
  assert.equal(v(map.client('20.20.128.7', null)), 'RELAY@1');
  assert.equal(v(map.client('20.20.128.255', null)), 'RELAY@1');
  assert.equal(v(map.client('20.20.129.1', null)), null);
  assert.equal(v(map.client('20.20.139.231', null)), 'RELAY@3');
  assert.equal(v(map.client('20.20.139.232', null)), null);
  assert.equal(v(map.client('10.4.5.6', null)), 'REJECT@7');
  assert.equal(v(map.client('10.4.5.60', null)), null, 'a full address is not a prefix');
  // A domain matches itself and every host below it, for clients and for addresses.
  assert.equal(v(map.client('192.0.2.1', 'mx1.productoinutil.com.mx')), 'REJECT@6');
  assert.equal(v(map.address('from', 'ventas@productoinutil.com.mx')), 'REJECT@6');
  assert.equal(v(map.address('from', 'x@sub.PRODUCTOINUTIL.com.mx')), 'REJECT@6');
  assert.equal(v(map.address('from', 'x@otroproductoinutil.com.mx')), null, 'only whole labels');
  assert.equal(v(map.address('from', 'Usuario@Molesto.com')), 'REJECT@5');
  assert.equal(v(map.address('from', 'otro@molesto.com')), null);
  // Untagged keys apply to recipients too (blacklist_recipients decides whether REJECT acts).
  assert.equal(v(map.address('to', 'usuario@molesto.com')), 'REJECT@5');
  assert.equal(map.rules[0].value, 'RELAY');
  assert.equal(map.rules[1].key, '20.20.139.231');
});

test('tags, user@, the null sender, CIDR and IPv6 keys, SKIP', () => {
  const map = parseAccess(
    [
      'Connect:192.0.2.10     REJECT',
      'From:192.0.2.10        OK       # a tagged key is only for its check',
      'From:<>                ERROR:5.7.1:550 No bounces here',
      'postmaster@            OK',
      'From:spammer@          REJECT',
      '10.0.0.0/8             RELAY',
      '10.1.0.0/16            REJECT   # the longer prefix wins',
      'IPv6:2001:db8::25      OK',
      '2001:db8:1::/48        REJECT',
      'IPv6:2001:db8:2        RELAY    # sendmail IPv6 prefix (groups)',
      'dead:beef::1           DISCARD  # an IPv6 key that looks like a tag is still an address',
      'example.org            REJECT',
      'good.example.org       SKIP',
      'To:friend@example.test OK',
      'Spam:abuse@example.test FRIEND',
      'Connect:host.example.net ERROR:"421 4.3.2 Come back later"',
    ].join('\n'),
    'access',
  );
  assert.equal(v(map.client('192.0.2.10', null)), 'REJECT@1');
  assert.equal(v(map.address('from', 'x@[192.0.2.10]')), 'OK@2', 'From: tag on an address literal');
  assert.equal(v(map.address('to', 'x@[192.0.2.10]')), null, 'a From: key does not apply to To:');
  const bounce = map.address('from', '');
  assert.deepEqual(bounce?.action, { kind: 'ERROR', code: 550, enhanced: '5.7.1', text: 'No bounces here' });
  assert.equal(v(map.address('to', 'postmaster@anywhere.test')), 'OK@4');
  assert.equal(v(map.address('from', 'spammer@x.test')), 'REJECT@5');
  assert.equal(v(map.address('to', 'spammer@x.test')), null);
  assert.equal(v(map.client('10.9.9.9', null)), 'RELAY@6');
  assert.equal(v(map.client('10.1.2.3', null)), 'REJECT@7');
  assert.equal(v(map.client('2001:db8::25', null)), 'OK@8');
  assert.equal(v(map.client('2001:0db8:0000:0000:0000:0000:0000:0025', null)), 'OK@8', 'IPv6 compared as bits, not text');
  assert.equal(v(map.client('2001:db8:1:ffff::9', null)), 'REJECT@9');
  assert.equal(v(map.client('2001:db8:2:3::4', null)), 'RELAY@10');
  assert.equal(v(map.client('dead:beef::1', null)), 'DISCARD@11');
  assert.equal(v(map.client('::ffff:10.9.9.9', null)), 'RELAY@6', 'IPv4-mapped IPv6 is IPv4');
  assert.equal(v(map.address('from', 'a@bad.example.org')), 'REJECT@12');
  assert.equal(v(map.address('from', 'a@good.example.org')), null, 'SKIP stops the search with no verdict');
  assert.equal(v(map.address('from', 'a@x.good.example.org')), null);
  assert.equal(v(map.address('to', 'friend@example.test')), 'OK@14');
  assert.equal(v(map.address('from', 'friend@example.test')), null);
  assert.equal(v(map.address('spam', 'abuse@example.test')), 'FRIEND@15');
  assert.deepEqual(map.client('192.0.2.99', 'host.example.net')?.action, { kind: 'ERROR', code: 421, enhanced: '4.3.2', text: 'Come back later' });
  // The client's host name is looked at before its address (sendmail's check_relay order).
  assert.equal(v(map.client('10.1.2.3', 'www.example.org')), 'REJECT@12');
});

test('ERROR values in every form', () => {
  assert.deepEqual(parseErrorValue('5.7.1:text here'), { code: 550, enhanced: '5.7.1', text: 'text here' });
  assert.deepEqual(parseErrorValue('"550 Go away"'), { code: 550, enhanced: '5.7.1', text: 'Go away' });
  assert.deepEqual(parseErrorValue('550 Go away'), { code: 550, enhanced: '5.7.1', text: 'Go away' });
  assert.deepEqual(parseErrorValue('4.7.0:451 slow down'), { code: 451, enhanced: '4.7.0', text: 'slow down' });
  assert.deepEqual(parseErrorValue('"554 5.7.1 nope"'), { code: 554, enhanced: '5.7.1', text: 'nope' });
  assert.match(parseErrorValue('text only') as string, /needs a status/);
  assert.match(parseErrorValue('5.7.1:451 mixed') as string, /disagree/);
  assert.match(parseErrorValue('"250 fine"') as string, /not a refusal/);
});

test('mistakes are FILE:LINE errors', () => {
  const cases: [string, number, RegExp][] = [
    ['1.2.3.4 RELAY\nexample.test\n', 2, /has no value/],
    ['example.test MAYBE\n', 1, /unknown value "MAYBE"/],
    ['Helo:example.test REJECT\n', 1, /unknown tag "Helo:"/],
    ['@example.test REJECT\n', 1, /without "@"/],
    ['bad_dom!ain REJECT\n', 1, /not an IP address, network, host/],
    ['a.test OK\nA.TEST REJECT\n', 2, /already listed on line 1/],
    ['10.0.0.0/8 OK\n10.0.0.0/8 REJECT\n', 2, /same network as line 1/],
    ['x.test ERROR:"550 unterminated\n', 1, /unterminated quote/],
    ['Spam:a@b.test OK\n', 1, /FRIEND or HATER/],
    ['a@b.test FRIEND\n', 1, /for Spam: keys/],
    ['Connect:user@b.test OK\n', 1, /Connect: takes/],
    ['10.0.0.0/33 OK\n', 1, /not an IP address/],
  ];
  for (const [text, line, re] of cases) {
    assert.throws(() => parseAccess(text, '/etc/correo/access'), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.line, line, text);
      assert.match(e.message, re);
      assert.ok(e.message.startsWith(`/etc/correo/access:${line}: `), e.message);
      return true;
    }, text);
  }
});

test('CRLF files and comments inside quotes', () => {
  const map = parseAccess('a.test ERROR:"550 no # here"  # but here\r\nb.test OK\r\n', 'f');
  assert.deepEqual(map.address('from', 'x@a.test')?.action, { kind: 'ERROR', code: 550, enhanced: '5.7.1', text: 'no # here' });
  assert.equal(v(map.address('from', 'x@b.test')), 'OK@2');
});
