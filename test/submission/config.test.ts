import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { parseSenders } from '../../src/smtp/senders.js';

const dir = mkdtempSync(join(tmpdir(), 'correo-subcfg-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function load(body: string) {
  const f = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(f, `hostname = "mail.example.test"\ndomains = ["example.test", "other.test"]\n${body}`);
  return { f, cfg: () => loadConfig(f) };
}

test('defaults: submission fix-ups on, qualify with the first domain, no masquerading, root trusted, AUTH off on port 25', () => {
  const c = load('').cfg();
  assert.equal(c.submission.always_add_domain, true);
  assert.equal(c.submission.qualify_domain, 'example.test');
  assert.equal(c.submission.max_header_size, 256 * 1024);
  assert.deepEqual(c.masquerade, { as: null, envelope: false, exposed_users: ['root'], domains: ['example.test', 'other.test', 'mail.example.test'] });
  assert.deepEqual(c.sendmail.trusted_users, ['root']);
  assert.equal(c.sendmail.maildrop, join(dir, 'data', 'maildrop'));
  assert.equal(c.sendmail.untrusted_sender, 'warn');
  assert.equal(c.smtp.auth, false);
  assert.equal(c.auth.scram_iterations, 10000);
  assert.equal(c.auth.cache_ttl, 60);
});

test('settings are read, and mistakes name FILE:LINE', () => {
  const c = load('[submission]\nqualify_domain = "Other.Test"\n[submission.allowed_senders]\n"Usr@Example.test" = ["Boss@example.test", "@sales.test"]\n[masquerade]\nas = "Corp.Test"\nenvelope = true\n[sendmail]\nmaildrop = "drop"\n').cfg();
  assert.equal(c.submission.qualify_domain, 'other.test');
  assert.deepEqual(c.submission.allowed_senders, { 'usr@example.test': ['boss@example.test', '@sales.test'] });
  assert.equal(c.masquerade.as, 'corp.test');
  assert.equal(c.sendmail.maildrop, join(dir, 'drop'));
  for (const [body, line, re] of [
    ['[auth]\nscram_iterations = 1000\n', 4, /scram_iterations must be at least 4096/],
    ['[submission.allowed_senders]\n"u@example.test" = ["not an address"]\n', 4, /"not an address" is not an address or "@domain"/],
    ['[sendmail]\nuntrusted_sender = "maybe"\n', 4, /untrusted_sender must be "warn" or "refuse"/],
    ['[masquerade]\nas = "bad domain"\n', 4, /"bad domain" is not a domain name/],
    ['[submission]\nmax_header_size = 10\n', 4, /max_header_size must be at least 1024/],
  ] as const) {
    const { f, cfg } = load(body);
    assert.throws(cfg, (e: Error) => e.message.startsWith(`${f}:${line}: `) && re.test(e.message), body);
  }
});

test('senders file: user: list, @domain items, FILE:LINE for a bad line', () => {
  const m = parseSenders('# comment\nusr@example.test: boss@example.test, @sales.test\nusr@example.test: more@example.test\n', 'senders');
  assert.deepEqual([...m], [['usr@example.test', ['boss@example.test', '@sales.test', 'more@example.test']]]);
  assert.throws(() => parseSenders('\nno colon here\n', 'senders'), /^Error: senders:2: expected "user@domain: address, @domain, \.\.\."/);
  assert.throws(() => parseSenders('u@x.test: bad item!\n', 'senders'), /senders:1: "bad" is not an address or "@domain"/);
});
