/**
 * The failure ledger on its own, with a clock of its own: the rules the protocol tests in
 * guessing.test.ts show through sessions, and the edges they cannot reach (the window's end,
 * a flood of addresses).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailureLedger } from '../../src/auth/throttle.js';
import { clientKey } from '../../src/policy/ip.js';

const limits = { perClient: 3, perAccount: 6, windowMs: 60_000 };

test('per address: throttled at the limit whatever the account; a success clears only its own pair; failures age out', () => {
  const l = new FailureLedger(limits);
  const t = 1_000_000;
  l.fail('a', 'victim', t);
  l.fail('a', 'victim', t);
  l.succeed('a', 'own');
  l.fail('a', 'own', t);
  assert.equal(l.throttled('a', 'victim', t), true, '3 failures from one address, a success at another account changes nothing');
  l.succeed('a', 'own');
  assert.equal(l.throttled('a', 'victim', t), false, 'the success forgave the failure at its own account');
  l.fail('a', 'victim', t + 1);
  assert.equal(l.throttled('a', 'anyone', t + 1), true);
  assert.equal(l.throttled('a', 'anyone', t + 60_000), false, 'the two first failures are out of the window');
  assert.equal(l.throttled('b', 'victim', t + 1), false, 'another address');
});

test('per account: under attack, an address that failed at it is refused, one that did not is not', () => {
  const l = new FailureLedger(limits);
  const t = 1_000_000;
  for (const a of ['a', 'b', 'c']) for (let i = 0; i < 2; i++) l.fail(a, 'victim', t);
  assert.equal(l.underAttack('victim', t), true);
  assert.equal(l.throttled('a', 'victim', t), true, 'a failed at it (under its own limit of 3)');
  assert.equal(l.throttled('a', 'other', t), false, 'a may still try other accounts');
  assert.equal(l.throttled('owner-home', 'victim', t), false, 'the owner from elsewhere is never refused');
  l.succeed('owner-home', 'victim');
  assert.equal(l.underAttack('victim', t), true, 'the owner\'s success does not end the attack');
  assert.equal(l.underAttack('victim', t + 60_000), false);
});

test('a flood of addresses keeps the ledger bounded and still counts the newest ones', () => {
  const l = new FailureLedger(limits);
  const t = 1_000_000;
  const ip = (i: number) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
  for (let i = 0; i < 120_000; i++) l.fail(ip(i), `u${i % 1000}`, t);
  assert.ok(l.clients <= 100_000, `${l.clients} addresses remembered`);
  const last = ip(119_999);
  l.fail(last, 'x', t);
  l.fail(last, 'y', t);
  assert.equal(l.throttled(last, 'z', t), true);
});

test('clientKey: IPv6 per /64, IPv4-mapped as IPv4, IPv4 as it is', () => {
  assert.equal(clientKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:0db8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.equal(clientKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(clientKey('192.0.2.1'), '192.0.2.1');
});
