import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'smol-toml';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { RANGES } from '../../src/config/ranges.js';
import { check, soup, TEST_TIMEOUT } from './runner.js';

/** The TOML config (src/config/load.ts): a Config, or a ConfigError naming a line of the file. */

const FILE = '/etc/correo/correo.toml';

function load(text: string): ReturnType<typeof parseConfig> | ConfigError {
  try {
    return parseConfig(text, FILE);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    assert.equal(e.file, FILE);
    assert.ok(e.line >= 1 && e.line <= text.split('\n').length + 1, `line ${e.line}: ${e.message}`);
    return e;
  }
}

const TOML_PIECES = [
  'hostname = "mail.example.test"\n', '[smtp]\n', '[imap]\n', '[maps]\n', '[policy]\n', '[dkim."a.test"]\n', '[[x]]\n', '[submission.allowed_senders]\n',
  'idle_timeout = ', 'max_literal_size = ', 'listen = ["127.0.0.1:25"]', 'dnsbl = [{ zone = "z.test" }]', 'access = "a"', 'selector = "s"',
  '0', '-1', '1e3', '9223372036854775807', '0x10', 'true', '"x"', "'y'", '"""', '[', ']', '{', '}', ',', '=', '.', '#', '\n', ' ', '\\', '\\u0000', 'é',
];

test('fuzz: any text as a config gives a Config or a ConfigError at a line of the file, never another throw', { timeout: TEST_TIMEOUT }, () => {
  check([soup(TOML_PIECES, 40)], (text) => {
    load(text);
  });
});

// Structured: well-formed TOML with the real keys and values of every type.
const SETTINGS: [string, string][] = [
  ...Object.keys(RANGES).map((k) => k.split('.') as [string, string]),
  ['smtp', 'listen'], ['imap', 'listen_tls'], ['maps', 'access'], ['log', 'level'], ['outbound', 'port'], ['outbound', 'smart_host'],
  ['auth', 'mechanisms'], ['policy', 'dnsbl'], ['smtp', 'novrfy'], ['submission', 'allowed_senders'], ['bogus', 'key'], ['smtp', 'bogus'],
];
const anyValue = fc.oneof(
  fc.integer({ min: -10, max: 10 }), fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(), fc.string({ maxLength: 10 }), fc.constantFrom('127.0.0.1:0', '[::1]:99999', 'PLAIN', 'z.test'),
  fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);

test('fuzz: real keys with values of any type: ranges hold when the config loads, FILE:LINE when it does not', { timeout: TEST_TIMEOUT }, () => {
  check([fc.array(fc.tuple(fc.constantFrom(...SETTINGS), anyValue), { maxLength: 6 })], (pairs) => {
    const doc: Record<string, Record<string, unknown>> = {};
    for (const [[section, key], v] of pairs) (doc[section] ??= {})[key] = v;
    const text = `hostname = "mail.example.test"\n${stringify(doc)}`;
    const r = load(text);
    if (r instanceof ConfigError) return;
    for (const [name, range] of Object.entries(RANGES)) {
      const [section, key] = name.split('.');
      const v = (r as unknown as Record<string, Record<string, number | null>>)[section][key];
      // null: worked out at start ([limits] max_connections from the open-file limit).
      if (v !== null) assert.ok(v >= range.min && v <= range.max, `${name} = ${v} loaded`);
    }
  });
});
