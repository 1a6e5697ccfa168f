import pg from 'pg';
import { readFileSync } from 'node:fs';
import { StoreUnavailableError } from '../types.js';

/** Where the PostgreSQL store is and how to log in ([store] of the config). */
export interface PgConnection {
  /** postgres://user@host:port/db; a password in it is refused by the config (it would show in `ps` and logs). */
  url: string;
  /** A file whose first line is the password (mode 0600), or null. */
  passwordFile?: string | null;
  /** Connections of this node's pool. */
  poolSize?: number;
}

/**
 * Integers of 8 octets (ids, times in ms, sizes, count(*)) come back as numbers: every value we
 * store fits in 2^53 (ms since 1970 for millennia, sizes of files), and the store's records
 * are numbers on either backend. NUMERIC (sum() of bigint) too, for the same reason.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/**
 * The password: the file named in the config, else PGPASSWORD / CORREO_PG_PASSWORD in the
 * environment (libpq's own variable, for operators used to it), else none (trust, peer, or
 * ~/.pgpass, which pg reads itself). Never from the command line.
 */
export function pgPassword(c: PgConnection): string | undefined {
  if (c.passwordFile) return readFileSync(c.passwordFile, 'utf8').split(/\r?\n/)[0];
  return process.env.CORREO_PG_PASSWORD ?? process.env.PGPASSWORD ?? undefined;
}

export function clientConfig(c: PgConnection): pg.ClientConfig {
  return {
    connectionString: c.url,
    password: pgPassword(c),
    types,
    // A database that does not answer is an outage, not a hang: callers answer 4xx meanwhile.
    connectionTimeoutMillis: 5000,
    application_name: 'correo',
  };
}

/**
 * The node's pool. Its connection failures come out as StoreUnavailableError (what the
 * protocols answer with a temporary error), every other error as it is.
 */
export function newPool(c: PgConnection): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(c), max: c.poolSize ?? 10, idleTimeoutMillis: 30_000 });
  // An idle connection dropped by the server (restart, outage) must not crash the process:
  // the pool discards it and the next query opens a new one.
  pool.on('error', () => undefined);
  const query = pool.query.bind(pool) as (...a: unknown[]) => Promise<unknown>;
  const connect = pool.connect.bind(pool) as (cb?: unknown) => Promise<pg.PoolClient> | undefined;
  Object.assign(pool, {
    query: (...a: unknown[]) => query(...a).catch((e: unknown) => { throw unavailable(e); }),
    // pg-pool's own query() calls connect with a callback: that form stays as it is.
    connect: (cb?: unknown) => (cb ? connect(cb) : connect()!.then(wrapClient, (e: unknown) => { throw unavailable(e); })),
  });
  return pool;
}

/** A pooled client whose failed queries say "unavailable" when the connection is the cause. */
function wrapClient(c: pg.PoolClient): pg.PoolClient {
  const query = c.query.bind(c) as (...a: unknown[]) => Promise<unknown>;
  if (!(c as { correoWrapped?: boolean }).correoWrapped) {
    // The pool itself calls query with a callback on the same client later: that form stays as it is.
    Object.assign(c, {
      correoWrapped: true,
      query: (...a: unknown[]) => (typeof a[a.length - 1] === 'function' ? query(...a) : query(...a).catch((e: unknown) => { throw unavailable(e); })),
    });
  }
  return c;
}

export function unavailable(e: unknown): unknown {
  if (e instanceof StoreUnavailableError || !isConnectionError(e)) return e;
  return new StoreUnavailableError(`PostgreSQL: ${(e as Error).message || (e as { code?: string }).code}`);
}

/** The URL with any password hidden, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** pg errors that mean "the database is not there" rather than "this statement is wrong". */
export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  const msg = (e as Error).message ?? '';
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|57P0[1-3]|08\d\d\d)$/.test(code) ||
    /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(msg);
}

export type Queryable = pg.Pool | pg.PoolClient | pg.Client;
