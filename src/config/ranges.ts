/**
 * The valid range of every numeric setting, checked when the config is loaded (issue 9 item
 * 12): `idle_timeout = 0` or `max_literal_size = 0` used to be accepted and silently turned a
 * protection off, and a timer above 2^31-1 ms is fired at once by Node (setTimeout overflows
 * to 1 ms), so a huge timeout was as bad as none.
 *
 * Settings not listed here (`log.level` and `outbound.port`, checked in load.ts) only need
 * to be whole numbers >= 0.
 */

export interface Range {
  min: number;
  max: number;
  /** Why the minimum is what it is, shown after the refusal. */
  why?: string;
}

/** Timers in seconds, multiplied by 1000 for setTimeout: at most 2^31-1 ms. */
const SECONDS = 2_147_483;
/** Timers in milliseconds. */
const MS = 2_147_483_647;
/** Durations compared with clocks, never given to setTimeout: ten years is plenty. */
const DURATION = 10 * 366 * 86400;
const BIG = Number.MAX_SAFE_INTEGER;

const OFF = '0 would turn this protection off';
const TIMER = '0 would turn the timer off';

export const RANGES: Record<string, Range> = {
  'smtp.max_message_size': { min: 1024, max: BIG, why: 'octets' },
  'smtp.max_recipients': { min: 1, max: 1_000_000 },
  'smtp.max_line_length': { min: 512, max: 1_048_576, why: 'RFC 5321 4.5.3.1.4' },
  'smtp.idle_timeout': { min: 1, max: SECONDS, why: TIMER },
  'smtp.max_errors': { min: 1, max: 1_000_000, why: OFF },
  'submission.max_header_size': { min: 1024, max: 64 * 1_048_576 },
  'imap.idle_timeout': { min: 1, max: SECONDS, why: TIMER },
  'imap.max_literal_size': { min: 1, max: 2_147_483_647, why: OFF },
  'imap.max_line_length': { min: 1024, max: 16 * 1_048_576 },
  'imap.max_literal_before_login': { min: 256, max: 16 * 1_048_576, why: 'octets' },
  'imap.max_command_before_login': { min: 1024, max: 16 * 1_048_576, why: 'octets' },
  'imap.max_literals_before_login': { min: 2, max: 1000, why: 'LOGIN may send both its arguments as literals' },
  'pop3.idle_timeout': { min: 1, max: SECONDS, why: TIMER },
  'pop3.auth_fail_limit': { min: 1, max: 1_000_000, why: OFF },
  'pop3.auth_fail_window': { min: 1, max: SECONDS, why: OFF },
  'policy.dnsbl_timeout': { min: 1, max: MS, why: 'milliseconds' },
  'policy.max_hops': { min: 1, max: 1000, why: 'RFC 5321 6.3 loop detection' },
  'policy.rate_window': { min: 1, max: SECONDS, why: 'seconds' },
  // 0 = no limit for these (documented in types.ts), so only the upper bound is new.
  'policy.client_messages': { min: 0, max: BIG },
  'policy.client_recipients': { min: 0, max: BIG },
  'policy.user_messages': { min: 0, max: BIG },
  'policy.user_recipients': { min: 0, max: BIG },
  'policy.greylist_delay': { min: 1, max: DURATION },
  'policy.greylist_retry_window': { min: 1, max: DURATION },
  'policy.greylist_expire': { min: 1, max: DURATION },
  'auth_checks.timeout': { min: 1, max: MS, why: 'milliseconds' },
  'delivery.program_timeout': { min: 1, max: SECONDS, why: TIMER },
  'outbound.connect_timeout': { min: 1, max: SECONDS, why: TIMER },
  'outbound.command_timeout': { min: 1, max: SECONDS, why: TIMER },
  'outbound.data_timeout': { min: 1, max: SECONDS, why: TIMER },
  'outbound.retry_initial': { min: 1, max: SECONDS },
  'outbound.retry_max': { min: 1, max: SECONDS },
  'outbound.delay_warning': { min: 1, max: DURATION },
  'outbound.give_up': { min: 1, max: DURATION },
  'outbound.max_per_destination': { min: 1, max: 100_000 },
  'outbound.max_total': { min: 1, max: 100_000 },
  'dns.timeout': { min: 1, max: MS, why: 'milliseconds' },
  'auth.scram_iterations': { min: 4096, max: 10_000_000, why: 'RFC 7677 4' },
  // 0 = no reserve: a full disk is still answered with 452 when a write fails.
  'storage.min_free_bytes': { min: 0, max: BIG },
  'store.pool_size': { min: 1, max: 1000, why: 'a pool needs a connection' },
  'store.lease': { min: 10, max: 86400, why: 'a lease renewed every third of it must outlast a slow database round trip' },
  'sieve.max_script_size': { min: 1024, max: 64 * 1_048_576, why: 'octets' },
  'sieve.max_scripts': { min: 1, max: 10_000 },
  'sieve.max_actions': { min: 1, max: 10_000 },
  'sieve.max_redirects': { min: 0, max: 100 },
  'sieve.max_run_time': { min: 1, max: 600_000, why: 'milliseconds' },
  'sieve.vacation_min_period': { min: 1, max: DURATION, why: 'seconds (RFC 6131 allows :seconds down to 1)' },
  'sieve.vacation_max_period': { min: 1, max: DURATION },
  // The connection layer (src/net/): a 0 would turn a timer off or refuse every client.
  ...connectionRanges(),
};

/** Timers, budgets and the bad-command cap of the connection layer, for each service that has them. */
function connectionRanges(): Record<string, Range> {
  const timer: Range = { min: 1, max: SECONDS, why: TIMER };
  const budget: Range = { min: 1, max: 10_000_000, why: 'a budget of 0 refuses every client' };
  const out: Record<string, Range> = {
    'smtp.command_timeout': timer,
    'smtp.data_timeout': timer,
    'submission.login_timeout': timer,
    'imap.literal_timeout': timer,
    'lmtp.max_connections': budget,
    'limits.reserved_fds': { min: 16, max: 1_000_000, why: 'descriptors for the queue, the database and outbound mail' },
  };
  for (const service of ['smtp', 'submission', 'imap', 'pop3', 'managesieve']) {
    for (const k of ['max_connections', 'max_connections_per_address', 'max_connection_rate']) out[`${service}.${k}`] = budget;
  }
  for (const service of ['imap', 'pop3', 'managesieve']) {
    out[`${service}.idle_timeout`] = timer;
    out[`${service}.login_timeout`] = timer;
    out[`${service}.command_timeout`] = timer;
    out[`${service}.max_errors`] = { min: 1, max: 1_000_000, why: OFF };
  }
  return out;
}

/** Why `value` is outside the range of `name` ("smtp.idle_timeout"), or null when it is inside. */
export function rangeProblem(name: string, value: number): string | null {
  const r = RANGES[name] ?? { min: 0, max: BIG };
  const key = name.slice(name.lastIndexOf('.') + 1);
  if (value < r.min) return `${key} must be at least ${r.min}${r.why ? ` (${r.why})` : ''}`;
  if (value > r.max) return `${key} must be at most ${r.max}`;
  return null;
}
