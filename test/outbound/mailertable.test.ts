import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookupRoute, parseHostSpec, parseMailertable } from '../../src/outbound/mailertable.js';
import { ConfigError } from '../../src/config/errors.js';

const TABLE = `# routes
remote.test      smtp:[relay.test]:2525
.remote.test     smtp:mx.other.test
intra.test       local:boss
old.test         error:5.1.2:domain retired
slow.test        error:4.4.5:550 try later
lit.test         esmtp:[127.0.0.9]
.                relay:[smart.test]
`;

test('mailertable lines become routes; .domain matches subdomains only; "." matches the rest', () => {
  const t = parseMailertable(TABLE, 'mt');
  assert.deepEqual(lookupRoute(t, 'remote.test'), { kind: 'smtp', domain: 'relay.test', mx: false, port: 2525, mailer: 'smtp' });
  assert.deepEqual(lookupRoute(t, 'a.b.Remote.Test'), { kind: 'smtp', domain: 'mx.other.test', mx: true, port: null, mailer: 'smtp' });
  assert.deepEqual(lookupRoute(t, 'intra.test'), { kind: 'local', user: 'boss' });
  assert.deepEqual(lookupRoute(t, 'old.test'), { kind: 'error', status: '5.1.2', text: 'domain retired' });
  assert.deepEqual(lookupRoute(t, 'slow.test'), { kind: 'error', status: '4.4.5', text: 'try later' });
  assert.deepEqual(lookupRoute(t, 'lit.test'), { kind: 'smtp', domain: '[127.0.0.9]', mx: false, port: null, mailer: 'smtp' });
  assert.deepEqual(lookupRoute(t, 'elsewhere.example'), { kind: 'smtp', domain: 'smart.test', mx: false, port: null, mailer: 'smtp' });
  assert.equal(lookupRoute(parseMailertable('.remote.test smtp:x\n', 'mt'), 'remote.test'), undefined, '.domain is not the domain itself');
});

test('mistakes are FILE:LINE errors', () => {
  const bad: [string, number, RegExp][] = [
    ['a.test smtp:[x]\nb.test\n', 2, /expected "domain mailer:host"/],
    ['a.test pigeon:x\n', 1, /unknown mailer "pigeon"/],
    ['\n\na.test error:bad\n', 3, /error:D\.S\.N:text/],
    ['a.test smtp:[x]:99999\n', 1, /not a host/],
    ['a.test local:x\nA.test local:y\n', 2, /listed twice/],
    ['bad_domain! smtp:x\n', 1, /not a domain/],
  ];
  for (const [text, line, re] of bad) {
    assert.throws(() => parseMailertable(text, '/etc/correo/mailertable'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match((e as Error).message, new RegExp(`^/etc/correo/mailertable:${line}: `));
      assert.match((e as Error).message, re);
      return true;
    });
  }
});

test('smart host specs', () => {
  assert.deepEqual(parseHostSpec('[relay.example]:587'), { kind: 'smtp', domain: 'relay.example', mx: false, port: 587, mailer: 'smtp' });
  assert.deepEqual(parseHostSpec('relay.example'), { kind: 'smtp', domain: 'relay.example', mx: true, port: null, mailer: 'smtp' });
  assert.deepEqual(parseHostSpec('[IPv6:::1]:25'), { kind: 'smtp', domain: '[::1]', mx: false, port: 25, mailer: 'smtp' });
  assert.equal(parseHostSpec('relay example'), null);
});
