import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../../src/config/errors.js';
import { parseAccess, parseErrorValue } from '../../src/maps/access.js';
import { parseLocalHostNames, parseRelayDomains } from '../../src/maps/domains.js';
import { parseVirtusertable } from '../../src/maps/virtusertable.js';
import { parseAliases } from '../../src/config/aliases.js';
import { parseMailertable, lookupRoute } from '../../src/outbound/mailertable.js';
import { parseSenders } from '../../src/smtp/senders.js';
import { parseForward } from '../../src/delivery/forward.js';
import { parseTarget, splitList } from '../../src/delivery/targets.js';
import { check, soup, TEST_TIMEOUT } from './runner.js';

/** The admin's map files (sendmail formats): a value, or a ConfigError naming a line of the file. */

const MAP_PIECES = [
  '\n', '\r\n', ' ', '\t', '#', '"', '\\', ':', ',', '@', '.', '/', '|', '%1', '%2', '%4', '+*', '[', ']',
  'Connect:', 'From:', 'To:', 'Spam:', 'IPv6:', '10.0.0.0/8', '192.0.2.', '::1', '2001:db8::/129', '300.1.1.1',
  'example.test', 'user', 'RELAY', 'OK', 'REJECT', 'DISCARD', 'FRIEND', 'ERROR:5.7.1:550 no', 'ERROR:"451 later"', 'error:nouser 5.1.1 gone',
  ':include:/etc/x', '/var/mail/x', 'smtp:[relay.test]:2525', 'local:', 'esmtp:mx.test', 'x.REDIRECT', '<', '>', 'é', '\x00',
];

const PARSERS: [string, (text: string, file: string) => unknown][] = [
  ['access', parseAccess], ['virtusertable', parseVirtusertable], ['relay-domains', parseRelayDomains],
  ['local-host-names', parseLocalHostNames], ['aliases', parseAliases], ['mailertable', parseMailertable], ['senders', parseSenders],
];

test('fuzz: every map format gives a map or a ConfigError at a line of the file; lookups never throw', { timeout: TEST_TIMEOUT }, () => {
  check([soup(MAP_PIECES, 50), fc.string({ maxLength: 30 }), fc.ipV4()], (text, probe, ip) => {
    const lines = text.split('\n').length;
    for (const [name, parse] of PARSERS) {
      let map: unknown;
      try {
        map = parse(text, name);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw new Error(`${name}: ${(e as Error).stack}`);
        assert.equal(e.file, name);
        assert.ok(e.line >= 1 && e.line <= lines, `${name}: line ${e.line} of ${lines}`);
        assert.equal(e.message, `${name}:${e.line}: ${e.problem}`);
        continue;
      }
      if (name === 'access') {
        const a = map as ReturnType<typeof parseAccess>;
        assert.ok(a.size <= lines);
        a.client(ip, probe);
        a.address('from', probe);
        a.address('to', `${probe}@${probe}`);
      } else if (name === 'virtusertable') {
        (map as ReturnType<typeof parseVirtusertable>).lookup(`${probe}@example.test`);
      } else if (name === 'mailertable') {
        lookupRoute(map as ReturnType<typeof parseMailertable>, probe);
      }
    }
  });
});

test('fuzz: targets, lists and forward files: a value or the reason, never a throw', { timeout: TEST_TIMEOUT }, () => {
  check([soup(MAP_PIECES, 20)], (text) => {
    const t = parseTarget(text);
    if (typeof t !== 'string') assert.ok(['address', 'program', 'file', 'include', 'redirect', 'error'].includes(t.kind));
    const l = splitList(text);
    if (typeof l !== 'string') assert.ok(l.length <= text.length);
    const f = parseForward(text);
    if (typeof f !== 'string') for (const item of f) assert.notEqual(typeof parseTarget(item), 'string');
    const e = parseErrorValue(text);
    if (typeof e !== 'string') assert.ok(e.code >= 400 && e.code < 600);
  });
});

// Round trip: an access map written from rules gives those rules back, one per line.
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/);
const domain = fc.array(label, { minLength: 1, maxLength: 3 }).map((a) => a.join('.'));
const key = fc.oneof(domain, fc.ipV4(), fc.tuple(fc.stringMatching(/^[a-z0-9._-]{1,8}$/), domain).map(([u, d]) => `${u}@${d}`));
const value = fc.constantFrom('RELAY', 'OK', 'REJECT', 'DISCARD', 'ERROR:5.7.1:550 Go away');

test('fuzz: an access map written from rules parses back to those rules, comments and CRLF allowed', { timeout: TEST_TIMEOUT }, () => {
  check([fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 10 }), fc.boolean()], (rules, crlf) => {
    const text = rules.map(([k, v], i) => `${k}\t${v}${i % 2 ? ' # note' : ''}`).join(crlf ? '\r\n' : '\n');
    const map = parseAccess(text, 'access');
    assert.deepEqual(map.rules.map((r) => [r.key, r.value, r.line]), rules.map(([k, v], i) => [k, v, i + 1]));
  });
});
