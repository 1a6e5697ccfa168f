import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';

function load(extra: string) {
  const dir = mkdtempSync(join(tmpdir(), 'correo-cfg-'));
  const file = join(dir, 'correo.toml');
  writeFileSync(file, `hostname = "mail.example.test"\ndomains = ["example.test"]\n${extra}`);
  try {
    return { cfg: loadConfig(file), file, dir };
  } catch (e) {
    return { error: (e as Error).message, file, dir };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('[outbound] defaults are sendmail\'s and the issue\'s: 60 s connect, 5 min doubling to 4 h, warning at 4 h, 5 days, port 25', () => {
  const { cfg } = load('');
  assert.ok(cfg);
  assert.deepEqual(
    [cfg.outbound.connect_timeout, cfg.outbound.retry_initial, cfg.outbound.retry_max, cfg.outbound.delay_warning, cfg.outbound.give_up, cfg.outbound.port, cfg.outbound.try_null_mx_list, cfg.outbound.smart_host, cfg.outbound.smart_host_tls],
    [60, 300, 14400, 14400, 432000, 25, true, null, 'opportunistic'],
  );
  assert.deepEqual(cfg.dkim, {});
  assert.equal(cfg.maps.mailertable, null);
});

test('[outbound], [dkim] and the mailertable path: values resolved, mistakes as FILE:LINE', () => {
  const ok = load('[maps]\nmailertable = "mt"\n[outbound]\nsmart_host = "[relay.example]:587"\nsmart_host_auth = "auth"\n[dkim."Example.test"]\nselector = "s1"\n');
  assert.ok(ok.cfg, ok.error);
  assert.equal(ok.cfg.maps.mailertable, join(ok.dir, 'mt'));
  assert.equal(ok.cfg.outbound.smart_host_auth, join(ok.dir, 'auth'));
  assert.deepEqual(ok.cfg.dkim, { 'example.test': { selector: 's1', key: join(ok.dir, 'data', 'dkim', 'example.test.s1.key') } });

  const bad: [string, number, RegExp][] = [
    ['[outbound]\nsmart_host_tls = "maybe"\n', 4, /smart_host_tls must be "none", "opportunistic" or "required"/],
    ['[outbound]\nport = 0\n', 4, /port 0 is out of range/],
    ['[outbound]\n\nsmart_host = "relay example"\n', 5, /smart_host "relay example" is not/],
    ['[outbound]\nretry_initial = 600\nretry_max = 60\n', 5, /retry_max is smaller than retry_initial/],
    ['[outbound]\nbogus = 1\n', 4, /unknown setting "bogus" in \[outbound\]/],
    ['[dkim."example.test"]\nselector = "bad selector"\n', 4, /needs selector/],
    ['[dkim."example.test"]\nselector = "s"\nextra = 1\n', 5, /unknown setting "extra"/],
  ];
  for (const [text, line, re] of bad) {
    const r = load(text);
    assert.ok(r.error, text);
    assert.ok(r.error.startsWith(`${r.file}:${line}: `), `${r.error} (want line ${line})`);
    assert.match(r.error, re);
  }
});
