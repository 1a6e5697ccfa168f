import { readFileSync, existsSync } from 'node:fs';
import { resolve, dirname, join } from 'node:path';
import { parse } from 'smol-toml';
import { ConfigError } from './errors.js';
import type { Config, ListenAddress } from './types.js';
import { ALL_MECHANISMS, DEFAULT_MECHANISMS } from '../auth/sasl.js';
import { rangeProblem } from './ranges.js';

/** Where a command looks when no --config is given. */
export const DEFAULT_CONFIG_PATHS = ['./correo.toml', '/etc/correo/correo.toml'];

export function findConfigFile(explicit: string | undefined): string {
  if (explicit) return resolve(explicit);
  for (const p of DEFAULT_CONFIG_PATHS) if (existsSync(p)) return resolve(p);
  throw new Error(
    `no configuration file: looked for ${DEFAULT_CONFIG_PATHS.join(' and ')}; ` +
      `create one with "correo init" or pass --config FILE`,
  );
}

/**
 * Finds the line where `table.key` is set, for messages. TOML has no parser that keeps
 * positions, so we scan: it is enough for a hand-written config file.
 */
export function lineOf(text: string, path: string[]): number {
  const lines = text.split('\n');
  let table = '';
  const wantTable = path.slice(0, -1).join('.');
  const key = path[path.length - 1];
  let tableLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    const t = /^\[([^\]]+)\]/.exec(l);
    if (t) {
      table = t[1].trim().replace(/"/g, '').replace(/\s*\.\s*/g, '.');
      if (table === path.join('.')) tableLine = i + 1;
      continue;
    }
    if (table === wantTable && new RegExp(`^"?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?\\s*=`).test(l)) return i + 1;
  }
  return tableLine || 1;
}

const KNOWN: Record<string, Record<string, string> | string> = {
  hostname: 'string',
  data_dir: 'string',
  domains: 'string[]',
  admins: 'string[]',
  smtp: {
    listen: 'listen', listen_tls: 'listen', max_message_size: 'int', max_recipients: 'int',
    max_line_length: 'int', idle_timeout: 'int', max_errors: 'int', novrfy: 'bool', noexpn: 'bool',
    auth: 'bool', command_timeout: 'int', data_timeout: 'int', max_connections: 'int', max_connections_per_address: 'int', max_connection_rate: 'int',
  },
  submission: {
    listen: 'listen', listen_tls: 'listen', allowed_senders: 'senders', senders_file: 'string',
    always_add_domain: 'bool', qualify_domain: 'string', max_header_size: 'int', login_timeout: 'int', max_connections: 'int', max_connections_per_address: 'int', max_connection_rate: 'int',
  },
  masquerade: { as: 'string', envelope: 'bool', exposed_users: 'string[]', domains: 'string[]' },
  sendmail: { trusted_users: 'string[]', maildrop: 'string', untrusted_sender: 'string' },
  imap: {
    listen: 'listen', listen_tls: 'listen', max_literal_size: 'int', max_line_length: 'int', max_sessions_per_user: 'int',
    max_literal_before_login: 'int', max_command_before_login: 'int', max_literals_before_login: 'int',
    literal_timeout: 'int', idle_timeout: 'int', login_timeout: 'int', command_timeout: 'int', max_errors: 'int', max_connections: 'int', max_connections_per_address: 'int', max_connection_rate: 'int',
  },
  pop3: { listen: 'listen', listen_tls: 'listen', auth_fail_limit: 'int', auth_fail_window: 'int', idle_timeout: 'int', login_timeout: 'int', command_timeout: 'int', max_errors: 'int', max_connections: 'int', max_connections_per_address: 'int', max_connection_rate: 'int' },
  tls: { cert: 'string', key: 'string' },
  log: { level: 'int', file: 'string' },
  maps: { aliases: 'string', mailertable: 'string', access: 'string', virtusertable: 'string', relay_domains: 'string', local_host_names: 'string' },
  policy: {
    authwarnings: 'bool', needmailhelo: 'bool', goaway: 'bool', blacklist_recipients: 'bool', delay_checks: 'bool',
    relay_based_on_mx: 'bool', dnsbl: 'dnsbl', dnswl: 'string[]', dnsbl_timeout: 'int', max_hops: 'int',
    rate_window: 'int', client_connections: 'int', client_messages: 'int', client_recipients: 'int',
    user_messages: 'int', user_recipients: 'int',
    greylist: 'bool', greylist_delay: 'int', greylist_retry_window: 'int', greylist_expire: 'int',
  },
  auth_checks: { enabled: 'bool', dmarc_reject: 'bool', dmarc_quarantine: 'bool', spf_reject: 'bool', domains: 'dmarc-domains', timeout: 'int' },
  delivery: { program_dir: 'string', program_user: 'string', program_timeout: 'int', file_dirs: 'string[]', forward_dir: 'string', local_mailer: 'string', recipient_delimiter: 'string' },
  lmtp: { listen: 'listen', socket: 'string', max_connections: 'int' },
  managesieve: { listen: 'listen', idle_timeout: 'int', login_timeout: 'int', command_timeout: 'int', max_errors: 'int', max_connections: 'int', max_connections_per_address: 'int', max_connection_rate: 'int' },
  sieve: {
    max_script_size: 'int', max_scripts: 'int', max_actions: 'int', max_redirects: 'int', max_run_time: 'int',
    before: 'string', after: 'string', vacation_min_period: 'int', vacation_max_period: 'int',
  },
  limits: { max_connections: 'int', reserved_fds: 'int' },
  server: { user: 'string' },
  outbound: {
    smart_host: 'string', smart_host_auth: 'string', smart_host_tls: 'string', smart_host_tls_verify: 'bool',
    starttls: 'bool', connect_timeout: 'int', command_timeout: 'int', data_timeout: 'int',
    retry_initial: 'int', retry_max: 'int', delay_warning: 'int', give_up: 'int',
    max_per_destination: 'int', max_total: 'int', port: 'int', try_null_mx_list: 'bool',
  },
  dkim: 'dkim',
  dns: { servers: 'string[]', timeout: 'int' },
  auth: { plaintext_without_tls: 'bool', mechanisms: 'string[]', scram_iterations: 'int', cache_ttl: 'int' },
  storage: { min_free_bytes: 'int' },
  store: { backend: 'string', url: 'string', password_file: 'string', node_id: 'string', blob_dir: 'string', pool_size: 'int', lease: 'int' },
};

export function parseListen(text: string): ListenAddress | string {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s\[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return `"${text}" is not HOST:PORT (IPv6 as [::1]:PORT)`;
  const port = Number(m[3]);
  if (port > 65535) return `port ${port} in "${text}" is out of range`;
  return { host: m[1] ?? m[2], port, text };
}

/** Built-in defaults: everything on loopback only (S13), standard ports. */
function defaults(dataDir: string): Omit<Config, 'file' | 'hostname'> {
  const l = (...a: string[]) => a.map((x) => parseListen(x) as ListenAddress);
  return {
    data_dir: dataDir,
    domains: [],
    admins: [],
    smtp: {
      listen: l('127.0.0.1:25'), listen_tls: [], max_message_size: 26214400, max_recipients: 100,
      max_line_length: 2048, idle_timeout: 300, max_errors: 10, novrfy: true, noexpn: true, auth: false,
      command_timeout: 60, data_timeout: 600, max_connections: 1000, max_connections_per_address: 50, max_connection_rate: 120,
    },
    submission: {
      listen: l('127.0.0.1:587'), listen_tls: l('127.0.0.1:465'), allowed_senders: {}, senders_file: null,
      always_add_domain: true, qualify_domain: '', max_header_size: 256 * 1024,
      login_timeout: 120, max_connections: 500, max_connections_per_address: 20, max_connection_rate: 600,
    },
    masquerade: { as: null, envelope: false, exposed_users: ['root'], domains: [] },
    sendmail: { trusted_users: ['root'], maildrop: join(dataDir, 'maildrop'), untrusted_sender: 'warn' },
    imap: {
      listen: l('127.0.0.1:143'), listen_tls: l('127.0.0.1:993'), idle_timeout: 1860, max_literal_size: 52428800, max_line_length: 65536,
      max_sessions_per_user: 1000, max_literal_before_login: 8192, max_command_before_login: 16384, max_literals_before_login: 8,
      login_timeout: 120, command_timeout: 60, literal_timeout: 600, max_errors: 20,
      max_connections: 5000, max_connections_per_address: 50, max_connection_rate: 600,
    },
    pop3: {
      listen: l('127.0.0.1:110'), listen_tls: l('127.0.0.1:995'), idle_timeout: 600, auth_fail_limit: 5, auth_fail_window: 300,
      login_timeout: 120, command_timeout: 60, max_errors: 10, max_connections: 1000, max_connections_per_address: 20, max_connection_rate: 600,
    },
    tls: { cert: '', key: '', self_signed: true },
    log: { level: 9, file: null },
    maps: { aliases: null, mailertable: null, access: null, virtusertable: null, relay_domains: null, local_host_names: null },
    // The seed's sendmail.mc: authwarnings, blacklist_recipients and delay_checks on.
    policy: {
      authwarnings: true, needmailhelo: true, goaway: false, blacklist_recipients: true, delay_checks: true,
      relay_based_on_mx: false, dnsbl: [], dnswl: [], dnsbl_timeout: 3000, max_hops: 30,
      rate_window: 60, client_connections: 0, client_messages: 0, client_recipients: 0, user_messages: 0, user_recipients: 0,
      greylist: false, greylist_delay: 300, greylist_retry_window: 4 * 3600, greylist_expire: 35 * 86400,
    },
    auth_checks: { enabled: true, dmarc_reject: true, dmarc_quarantine: true, spf_reject: false, domains: {}, timeout: 10000 },
    delivery: { program_dir: null, program_user: 'nobody', program_timeout: 60, file_dirs: [], forward_dir: join(dataDir, 'forward'), local_mailer: null, recipient_delimiter: '+' },
    lmtp: { listen: [], socket: null, max_connections: 100 },
    managesieve: {
      // Off unless configured (`correo init` writes 127.0.0.1:4190): a config written before
      // ManageSieve existed does not grow a listener on upgrade (docs/DECISIONS.md).
      listen: [], idle_timeout: 1800, login_timeout: 120, command_timeout: 60, max_errors: 10,
      max_connections: 500, max_connections_per_address: 20, max_connection_rate: 600,
    },
    sieve: {
      max_script_size: 256 * 1024, max_scripts: 20, max_actions: 32, max_redirects: 4, max_run_time: 2000,
      before: null, after: null, vacation_min_period: 86400, vacation_max_period: 90 * 86400,
    },
    limits: { max_connections: null, reserved_fds: 256 },
    server: { user: 'correo' },
    outbound: {
      smart_host: null, smart_host_auth: null, smart_host_tls: 'opportunistic', smart_host_tls_verify: true,
      starttls: true, connect_timeout: 60, command_timeout: 300, data_timeout: 600,
      retry_initial: 300, retry_max: 14400, delay_warning: 14400, give_up: 432000,
      max_per_destination: 10, max_total: 100, port: 25, try_null_mx_list: true,
    },
    dkim: {},
    dns: { servers: [], timeout: 5000 },
    auth: { plaintext_without_tls: false, mechanisms: [...DEFAULT_MECHANISMS], scram_iterations: 10000, cache_ttl: 60 },
    storage: { min_free_bytes: 64 * 1024 * 1024 },
    store: { backend: 'sqlite', url: null, password_file: null, node_id: null, blob_dir: null, pool_size: 10, lease: 300 },
  };
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Reads and validates a config file. Every mistake is a ConfigError naming FILE:LINE. */
export function loadConfig(file: string): Config {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read configuration ${path}: ${(e as Error).message}`);
  }
  return parseConfig(text, path);
}

/** Validates the text of a config file read from `path` (no I/O: the fuzz tests call it directly). */
export function parseConfig(text: string, path: string): Config {
  let raw: Record<string, unknown>;
  try {
    raw = parse(text) as Record<string, unknown>;
  } catch (e) {
    const err = e as { line?: number; message: string };
    throw new ConfigError(path, err.line ?? 1, err.message.split('\n')[0].replace(/^Invalid TOML document: /, 'invalid TOML: '));
  }
  const fail = (keyPath: string[], problem: string): never => {
    throw new ConfigError(path, lineOf(text, keyPath), problem);
  };

  const base = dirname(path);
  const abs = (p: string) => resolve(base, p);
  const cfg = defaults(abs('./data')) as Config;
  cfg.file = path;

  for (const [k, v] of Object.entries(raw)) {
    const spec = KNOWN[k];
    if (spec === undefined) fail([k], `unknown setting "${k}"`);
    if (typeof spec === 'object') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail([k], `"${k}" must be a table ([${k}])`);
      const section = (cfg as unknown as Record<string, Record<string, unknown>>)[k];
      for (const [sk, sv] of Object.entries(v as Record<string, unknown>)) {
        const t = spec[sk];
        if (!t) fail([k, sk], `unknown setting "${sk}" in [${k}]`);
        section[sk] = checkValue([k, sk], t, sv, fail);
        const outside = t === 'int' ? rangeProblem(`${k}.${sk}`, section[sk] as number) : null;
        if (outside) fail([k, sk], outside);
      }
    } else {
      (cfg as unknown as Record<string, unknown>)[k] = checkValue([k], spec, v, fail);
    }
  }

  if (typeof raw.hostname !== 'string') fail(['hostname'], 'hostname is required (the greeting and HELO name, S30)');
  cfg.hostname = (raw.hostname as string).toLowerCase();
  if (!DOMAIN.test(cfg.hostname)) fail(['hostname'], `hostname "${cfg.hostname}" is not a valid host name`);
  cfg.domains = cfg.domains.map((d) => d.toLowerCase());
  for (const d of cfg.domains) if (!DOMAIN.test(d)) fail(['domains'], `"${d}" is not a valid domain name`);
  cfg.admins = cfg.admins.map((a) => a.toLowerCase());
  for (const a of cfg.admins) if (!/^[^@\s]+@[^@\s]+$/.test(a) || !DOMAIN.test(a.slice(a.lastIndexOf('@') + 1))) fail(['admins'], `admins: "${a}" is not an address (user@domain)`);
  cfg.data_dir = abs(cfg.data_dir);
  if (cfg.log.level < 0 || cfg.log.level > 99) fail(['log', 'level'], `log level ${cfg.log.level} is outside 0..99`);
  if (cfg.log.file) cfg.log.file = abs(cfg.log.file);
  if (cfg.maps.aliases) cfg.maps.aliases = abs(cfg.maps.aliases);
  if (cfg.maps.mailertable) cfg.maps.mailertable = abs(cfg.maps.mailertable);
  for (const k of ['access', 'virtusertable', 'relay_domains', 'local_host_names'] as const) {
    const v = cfg.maps[k];
    if (v) cfg.maps[k] = abs(v);
  }
  const pol = cfg.policy;
  if (!pol.needmailhelo) fail(['policy', 'needmailhelo'], 'needmailhelo cannot be turned off: Correo always wants HELO/EHLO before MAIL (RFC 5321 4.1.4 allows it)');
  if (pol.goaway) {
    // sendmail's goaway implies these.
    cfg.smtp.novrfy = true;
    cfg.smtp.noexpn = true;
    pol.authwarnings = true;
  }
  for (const z of pol.dnswl) if (!DOMAIN.test(z)) fail(['policy', 'dnswl'], `DNS list zone "${z}" is not a domain name`);
  const dl = cfg.delivery;
  if (dl.program_dir) dl.program_dir = abs(dl.program_dir);
  dl.forward_dir = abs(dl.forward_dir);
  if (!/^[a-z_][a-z0-9_-]*\$?$/i.test(dl.program_user)) fail(['delivery', 'program_user'], `program_user "${dl.program_user}" is not a user name`);
  dl.file_dirs = dl.file_dirs.map(abs);
  if (dl.recipient_delimiter.length > 1 || /[@\s"\\]/.test(dl.recipient_delimiter)) {
    fail(['delivery', 'recipient_delimiter'], `recipient_delimiter must be one character other than @, a space, " or \\ (or "" for none), not "${dl.recipient_delimiter}"`);
  }
  const USER = /^[a-z_][a-z0-9_-]*\$?$/i;
  if (!USER.test(cfg.server.user)) fail(['server', 'user'], `user "${cfg.server.user}" is not a user name`);
  // Dropping root is the point of the setting; programs and files must never run as root either.
  if (cfg.server.user === 'root') fail(['server', 'user'], 'user must not be root: the server drops root after binding its ports');
  if (dl.program_user === 'root') fail(['delivery', 'program_user'], 'program_user must not be root');
  if (cfg.lmtp.socket) cfg.lmtp.socket = abs(cfg.lmtp.socket);
  if (cfg.sieve.before) cfg.sieve.before = abs(cfg.sieve.before);
  if (cfg.sieve.after) cfg.sieve.after = abs(cfg.sieve.after);
  if (cfg.sieve.vacation_max_period < cfg.sieve.vacation_min_period) fail(['sieve', 'vacation_max_period'], 'vacation_max_period is smaller than vacation_min_period');
  const ob = cfg.outbound;
  if (!['none', 'opportunistic', 'required'].includes(ob.smart_host_tls)) fail(['outbound', 'smart_host_tls'], `smart_host_tls must be "none", "opportunistic" or "required", not "${ob.smart_host_tls}"`);
  if (ob.smart_host !== null && !/^(\[[^\]\s]+\]|[^\s:\[\]]+)(:\d{1,5})?$/.test(ob.smart_host)) fail(['outbound', 'smart_host'], `smart_host "${ob.smart_host}" is not "[host]:port", "[host]", "host" or "host:port"`);
  if (ob.smart_host_auth) ob.smart_host_auth = abs(ob.smart_host_auth);
  if (ob.port < 1 || ob.port > 65535) fail(['outbound', 'port'], `port ${ob.port} is out of range`);
  if (ob.retry_max < ob.retry_initial) fail(['outbound', 'retry_max'], 'retry_max is smaller than retry_initial');
  for (const [d, k] of Object.entries(cfg.dkim)) k.key = k.key ? abs(k.key) : join(cfg.data_dir, 'dkim', `${d}.${k.selector}.key`);
  for (const s of cfg.dns.servers) {
    if (!/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\])(:\d{1,5})?$|^[0-9a-fA-F:]+$/.test(s)) {
      fail(['dns', 'servers'], `DNS server "${s}" must be an IP address, optionally with :PORT`);
    }
  }

  checkStore(cfg, abs, fail);

  // Absent means "from the open-file limit" (src/net/fd-limit.ts), so it is not in RANGES.
  const lim = cfg.limits.max_connections;
  if (lim !== null && lim < 1) fail(['limits', 'max_connections'], 'max_connections must be at least 1 (a budget of 0 refuses every client)');

  const given = (raw.delivery ?? {}) as Record<string, unknown>;
  if (given.forward_dir === undefined) dl.forward_dir = join(cfg.data_dir, 'forward');

  const au = cfg.auth;
  au.mechanisms = au.mechanisms.map((m) => m.toUpperCase());
  for (const m of au.mechanisms) {
    if (!(ALL_MECHANISMS as readonly string[]).includes(m)) fail(['auth', 'mechanisms'], `unknown SASL mechanism "${m}" (known: ${ALL_MECHANISMS.join(', ')})`);
  }
  const sub = cfg.submission;
  if (sub.senders_file) sub.senders_file = abs(sub.senders_file);
  sub.qualify_domain = (sub.qualify_domain || cfg.domains[0] || cfg.hostname).toLowerCase();
  if (!DOMAIN.test(sub.qualify_domain)) fail(['submission', 'qualify_domain'], `"${sub.qualify_domain}" is not a domain name`);
  const mq = cfg.masquerade;
  if (mq.as !== null) {
    mq.as = mq.as.toLowerCase();
    if (!DOMAIN.test(mq.as)) fail(['masquerade', 'as'], `"${mq.as}" is not a domain name`);
  }
  mq.domains = (mq.domains.length ? mq.domains : [...cfg.domains, cfg.hostname]).map((d) => d.toLowerCase());
  mq.exposed_users = mq.exposed_users.map((u) => u.toLowerCase());
  const sm = cfg.sendmail;
  if (sm.untrusted_sender !== 'warn' && sm.untrusted_sender !== 'refuse') fail(['sendmail', 'untrusted_sender'], `untrusted_sender must be "warn" or "refuse", not "${sm.untrusted_sender}"`);
  const givenSm = (raw.sendmail ?? {}) as Record<string, unknown>;
  sm.maildrop = givenSm.maildrop === undefined ? join(cfg.data_dir, 'maildrop') : abs(sm.maildrop);

  const tls = (raw.tls ?? {}) as Record<string, string>;
  if ((tls.cert === undefined) !== (tls.key === undefined)) fail(['tls'], '[tls] needs both cert and key, or neither');
  cfg.tls = tls.cert
    ? { cert: abs(tls.cert), key: abs(tls.key), self_signed: false }
    : { cert: join(cfg.data_dir, 'tls', 'cert.pem'), key: join(cfg.data_dir, 'tls', 'key.pem'), self_signed: true };
  return cfg;
}

function checkValue(
  keyPath: string[],
  type: string,
  v: unknown,
  fail: (p: string[], m: string) => never,
): unknown {
  const name = keyPath.join('.');
  switch (type) {
    case 'string':
      if (typeof v !== 'string') fail(keyPath, `${name} must be a string`);
      return v;
    case 'string[]':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(keyPath, `${name} must be a list of strings`);
      return v;
    case 'int':
      if (typeof v !== 'number' && typeof v !== 'bigint') fail(keyPath, `${name} must be a whole number`);
      if (!Number.isInteger(Number(v)) || Number(v) < 0) fail(keyPath, `${name} must be a whole number >= 0`);
      return Number(v);
    case 'bool':
      if (typeof v !== 'boolean') fail(keyPath, `${name} must be true or false`);
      return v;
    case 'dkim': {
      // [dkim."example.test"] selector = "s1", key = "file" (optional)
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(keyPath, '[dkim] must hold one table per domain, e.g. [dkim."example.test"] selector = "s1"');
      const out: Record<string, { selector: string; key: string }> = {};
      for (const [domain, t] of Object.entries(v as Record<string, unknown>)) {
        const at = [...keyPath, domain];
        if (typeof t !== 'object' || t === null || Array.isArray(t)) fail(at, `[dkim."${domain}"] must be a table with selector (and key)`);
        const { selector, key, ...rest } = t as Record<string, unknown>;
        for (const extra of Object.keys(rest)) fail([...at, extra], `unknown setting "${extra}" in [dkim."${domain}"]`);
        if (typeof selector !== 'string' || !/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/i.test(selector)) fail([...at, 'selector'], `[dkim."${domain}"] needs selector = "NAME" (letters, digits, . - _)`);
        if (key !== undefined && typeof key !== 'string') fail([...at, 'key'], 'key must be a file name');
        out[domain.toLowerCase()] = { selector: selector as string, key: (key as string | undefined) ?? '' };
      }
      return out;
    }
    case 'dnsbl': {
      // dnsbl = [{ zone = "zen.example", message = "Rejected: %s is listed" }, "other.example"]
      if (!Array.isArray(v)) fail(keyPath, `${name} must be a list of zones or { zone = "...", message = "..." } tables`);
      return (v as unknown[]).map((item) => {
        const t = typeof item === 'string' ? { zone: item } : item;
        if (typeof t !== 'object' || t === null || Array.isArray(t)) fail(keyPath, `${name}: each list is a zone name or { zone = "...", message = "..." }`);
        const { zone, message, answers, ...rest } = t as Record<string, unknown>;
        for (const extra of Object.keys(rest)) fail(keyPath, `${name}: unknown setting "${extra}" (zone, message, answers)`);
        if (typeof zone !== 'string' || !DOMAIN.test(zone)) fail(keyPath, `${name}: zone ${JSON.stringify(zone)} is not a domain name`);
        if (message !== undefined && typeof message !== 'string') fail(keyPath, `${name}: message must be a string`);
        if (answers !== undefined && (!Array.isArray(answers) || answers.some((a) => typeof a !== 'string' || !/^\d+\.\d+\.\d+\.\d+$/.test(a)))) {
          fail(keyPath, `${name}: answers must be a list of IPv4 addresses like "127.0.0.2"`);
        }
        return {
          zone: (zone as string).toLowerCase(),
          message: (message as string | undefined) ?? `Rejected: %s listed at ${zone as string}`,
          answers: (answers as string[] | undefined) ?? [],
        };
      });
    }
    case 'senders': {
      // [submission.allowed_senders] "usr@example.test" = ["boss@example.test", "@sales.example.test"]
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(keyPath, `${name} must be a table of "user@domain" = ["address", "@domain", ...]`);
      const out: Record<string, string[]> = {};
      for (const [user, list] of Object.entries(v as Record<string, unknown>)) {
        if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) fail([...keyPath, user], `${name}."${user}" must be a list of addresses or "@domain"`);
        for (const a of list as string[]) {
          if (!/^([^\s@]+)?@[a-z0-9.-]+$/i.test(a)) fail([...keyPath, user], `${name}."${user}": "${a}" is not an address or "@domain"`);
        }
        out[user.toLowerCase()] = (list as string[]).map((a) => a.toLowerCase());
      }
      return out;
    }
    case 'dmarc-domains': {
      // [auth_checks.domains] "lists.example" = "none"
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(keyPath, `${name} must be a table of domain = "none" | "quarantine" | "reject"`);
      const out: Record<string, string> = {};
      for (const [domain, action] of Object.entries(v as Record<string, unknown>)) {
        if (!DOMAIN.test(domain)) fail([...keyPath, domain], `"${domain}" is not a domain name`);
        if (action !== 'none' && action !== 'quarantine' && action !== 'reject') fail([...keyPath, domain], `${name}."${domain}" must be "none", "quarantine" or "reject"`);
        out[domain.toLowerCase()] = action as string;
      }
      return out;
    }
    case 'listen': {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(keyPath, `${name} must be a list like ["127.0.0.1:25"]`);
      return (v as string[]).map((x) => {
        const r = parseListen(x);
        if (typeof r === 'string') fail(keyPath, `${name}: ${r}`);
        return r;
      });
    }
  }
  throw new Error(`internal: unknown config type ${type}`);
}

/** [store]: the embedded SQLite store, or PostgreSQL for several nodes (docs/DECISIONS.md). */
function checkStore(cfg: Config, abs: (p: string) => string, fail: (keyPath: string[], problem: string) => never): void {
  const st = cfg.store;
  if (st.backend !== 'sqlite' && st.backend !== 'postgresql') fail(['store', 'backend'], `backend must be "sqlite" or "postgresql", not "${st.backend}"`);
  if (st.password_file) st.password_file = abs(st.password_file);
  if (st.blob_dir) st.blob_dir = abs(st.blob_dir);
  if (st.node_id !== null && !/^[A-Za-z0-9._-]{1,64}$/.test(st.node_id)) fail(['store', 'node_id'], `node_id "${st.node_id}" must be 1 to 64 of A-Z a-z 0-9 . _ -`);
  if (st.backend === 'sqlite') return;
  if (!st.url) fail(['store', 'url'], 'backend "postgresql" needs url = "postgres://USER@HOST:PORT/DATABASE"');
  let u: URL;
  try {
    u = new URL(st.url!);
  } catch {
    return fail(['store', 'url'], `url "${st.url}" is not a URL (postgres://USER@HOST:PORT/DATABASE)`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') fail(['store', 'url'], `url must start with postgres:// or postgresql://, not ${u.protocol}//`);
  if (u.password) fail(['store', 'url'], 'url must not hold the password: put it in password_file (mode 0600) or in PGPASSWORD');
}
