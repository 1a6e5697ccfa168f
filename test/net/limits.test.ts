import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientAddress } from '../../src/net/address.js';
import { ConnectionLimits, type Budget } from '../../src/net/limits.js';
import { globalBudget, openFileLimit } from '../../src/net/fd-limit.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';

const budget: Budget = { max: 5, perAddress: 2, perMinute: 4 };

test('one spelling per client: IPv4-mapped IPv6 is the IPv4 address, IPv6 lower-cased, no address is "local"', () => {
  assert.equal(clientAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(clientAddress('::FFFF:192.0.2.7'), '192.0.2.7');
  assert.equal(clientAddress('192.0.2.7'), '192.0.2.7');
  assert.equal(clientAddress('2001:DB8::1'), '2001:db8::1');
  assert.equal(clientAddress('::ffff:abcd'), '::ffff:abcd');
  assert.equal(clientAddress(undefined), 'local');
});

test('per address: the third connection from one address is refused while another address gets in; a closed one frees its slot', () => {
  const l = new ConnectionLimits(100);
  const a1 = l.admit('smtp', budget, '10.0.0.1');
  const a2 = l.admit('smtp', budget, '10.0.0.1');
  assert.ok(a1.ok && a2.ok);
  assert.deepEqual(l.admit('smtp', budget, '10.0.0.1'), { ok: false, why: 'address' });
  assert.ok(l.admit('smtp', budget, '10.0.0.2').ok);
  // Another service has its own count for the same address.
  assert.ok(l.admit('imap', budget, '10.0.0.1').ok);
  if (a1.ok) a1.release();
  if (a1.ok) a1.release(); // twice is once
  assert.ok(l.admit('smtp', budget, '10.0.0.1').ok);
  assert.equal(l.open, 4);
});

test('per service and global: the service budget and the process budget are each a hard ceiling', () => {
  const l = new ConnectionLimits(7);
  for (let i = 0; i < 5; i++) assert.ok(l.admit('smtp', budget, `10.0.1.${i}`).ok);
  assert.deepEqual(l.admit('smtp', budget, '10.0.1.99'), { ok: false, why: 'service' });
  assert.ok(l.admit('submission', budget, '10.0.1.99').ok, 'the MTA being full leaves submission its own budget');
  assert.ok(l.admit('imap', budget, '10.0.1.98').ok);
  assert.deepEqual(l.admit('imap', budget, '10.0.1.97'), { ok: false, why: 'global' });
});

test('rate: new connections per address and minute, refused attempts included; the next minute starts afresh', () => {
  let now = 1_000_000;
  const l = new ConnectionLimits(100, () => now);
  const wide: Budget = { max: 100, perAddress: 100, perMinute: 3 };
  for (let i = 0; i < 3; i++) {
    const a = l.admit('pop3', wide, '10.0.2.1');
    assert.ok(a.ok);
    a.release();
  }
  assert.deepEqual(l.admit('pop3', wide, '10.0.2.1'), { ok: false, why: 'rate' });
  assert.ok(l.admit('pop3', wide, '10.0.2.2').ok);
  now += 59_000;
  assert.deepEqual(l.admit('pop3', wide, '10.0.2.1'), { ok: false, why: 'rate' });
  now += 1_000;
  assert.ok(l.admit('pop3', wide, '10.0.2.1').ok);
});

test('the global budget stays below the open-file limit, with room kept for the queue, the database and outbound', () => {
  const limits = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n';
  assert.equal(openFileLimit(limits), 1024);
  assert.equal(openFileLimit('Max open files            unlimited            unlimited            files\n'), null);
  assert.deepEqual(globalBudget(null, 256, 1024), { max: 768, clamped: false });
  assert.deepEqual(globalBudget(5000, 256, 1024), { max: 768, clamped: true });
  assert.deepEqual(globalBudget(100, 256, 1024), { max: 100, clamped: false });
  // This process's own limit is read, and the default budget is below it.
  const own = openFileLimit();
  if (own !== null) assert.ok(globalBudget(null, 256).max < own);
});

function loadFails(toml: string, line: number, re: RegExp): void {
  const dir = mkdtempSync(join(tmpdir(), 'correo-net-cfg-'));
  try {
    const f = join(dir, 'correo.toml');
    writeFileSync(f, `hostname = "mail.example.test"\n${toml}`);
    assert.throws(() => loadConfig(f), (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
      assert.ok(e.message.startsWith(`${f}:${line}: `), e.message);
      assert.match(e.message, re);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('zero turns no timer or limit off: each is refused with FILE:LINE', () => {
  loadFails('[smtp]\nidle_timeout = 0\n', 3, /idle_timeout must be at least 1/);
  loadFails('[smtp]\nmax_errors = 1\ndata_timeout = 0\n', 4, /data_timeout must be at least 1/);
  loadFails('[smtp]\ncommand_timeout = 0\n', 3, /command_timeout must be at least 1/);
  loadFails('[submission]\nlogin_timeout = 0\n', 3, /login_timeout must be at least 1/);
  loadFails('[imap]\nidle_timeout = 0\n', 3, /idle_timeout must be at least 1/);
  loadFails('[imap]\nliteral_timeout = 0\n', 3, /literal_timeout must be at least 1/);
  loadFails('[imap]\nmax_connections_per_address = 0\n', 3, /max_connections_per_address must be at least 1/);
  loadFails('[pop3]\n\nlogin_timeout = 0\n', 4, /login_timeout must be at least 1/);
  loadFails('[pop3]\nmax_errors = 0\n', 3, /max_errors must be at least 1/);
  loadFails('[pop3]\nmax_connection_rate = 0\n', 3, /max_connection_rate must be at least 1/);
  loadFails('[limits]\nmax_connections = 0\n', 3, /max_connections must be at least 1/);
});

test('IPv6 clients are counted per /64, as login failures are: stepping through one /64 does not get past the per-address limit', () => {
  const l = new ConnectionLimits(100);
  assert.ok(l.admit('smtp', budget, '2001:db8:1:2::1').ok);
  assert.ok(l.admit('smtp', budget, '2001:db8:1:2::ffff').ok);
  assert.deepEqual(l.admit('smtp', budget, '2001:db8:1:2:abcd::7'), { ok: false, why: 'address' });
  // The next /64 is another client.
  assert.ok(l.admit('smtp', budget, '2001:db8:1:3::1').ok);
  // IPv4 stays per address.
  assert.ok(l.admit('smtp', budget, '192.0.2.1').ok);
  assert.ok(l.admit('smtp', budget, '192.0.2.2').ok);
});
