import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { RANGES } from '../../src/config/ranges.js';

/** Loads `hostname = ...` plus `body`; returns the error or null. */
function loadError(body: string): { file: string; error: ConfigError | null } {
  const dir = mkdtempSync(join(tmpdir(), 'correo-ranges-'));
  const file = join(dir, 'correo.toml');
  try {
    writeFileSync(file, `hostname = "mail.example.test"\n${body}`);
    try {
      loadConfig(file);
      return { file, error: null };
    } catch (e) {
      assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
      return { file, error: e };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('issue 9 item 12: idle_timeout = 0 and max_literal_size = 0 are refused with FILE:LINE', () => {
  for (const [body, line, re] of [
    ['[imap]\nidle_timeout = 0\n', 3, /idle_timeout must be at least 1 \(0 would turn the timer off\)/],
    ['[imap]\n\nmax_literal_size = 0\n', 4, /max_literal_size must be at least 1 \(0 would turn this protection off\)/],
    ['[smtp]\nidle_timeout = 0\n', 3, /idle_timeout must be at least 1/],
    ['[pop3]\nidle_timeout = 0\n', 3, /idle_timeout must be at least 1/],
    ['[smtp]\nmax_errors = 0\n', 3, /max_errors must be at least 1/],
    ['[pop3]\nauth_fail_limit = 0\n', 3, /auth_fail_limit must be at least 1/],
    ['[delivery]\nprogram_timeout = 0\n', 3, /program_timeout must be at least 1/],
    ['[outbound]\ndata_timeout = 0\n', 3, /data_timeout must be at least 1/],
    ['[dns]\ntimeout = 0\n', 3, /timeout must be at least 1/],
  ] as const) {
    const { file, error } = loadError(body);
    assert.ok(error, `accepted: ${body}`);
    assert.ok(error.message.startsWith(`${file}:${line}: `), `${error.message} (want line ${line})`);
    assert.match(error.message, re);
  }
});

test('a timer too large for setTimeout (it would fire at once) is refused', () => {
  // 2^31 ms and more overflow to 1 ms in Node: a huge idle_timeout was no timeout at all.
  for (const body of ['[imap]\nidle_timeout = 3000000\n', '[smtp]\nidle_timeout = 99999999999\n', '[policy]\ndnsbl_timeout = 2147483648\n']) {
    const { error } = loadError(body);
    assert.ok(error, `accepted: ${body}`);
    assert.match(error.message, /must be at most \d+/);
  }
  assert.equal(loadError('[imap]\nidle_timeout = 2147483\n').error, null, 'the largest allowed value loads');
});

test('every range admits its own default, and 0 stays valid where it documents "no limit"', () => {
  assert.equal(loadError('').error, null);
  assert.equal(loadError('[policy]\nclient_messages = 0\nuser_recipients = 0\n[storage]\nmin_free_bytes = 0\n').error, null);
  for (const [name, r] of Object.entries(RANGES)) assert.ok(r.min <= r.max, name);
});
