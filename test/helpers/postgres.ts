import pg from 'pg';
import { randomBytes } from 'node:crypto';

/**
 * PostgreSQL for tests: the server the machine runs (CI starts it, .ci/run), reached as
 * CORREO_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres, a role that may
 * create databases). Each test makes its OWN database with a unique name and drops it after;
 * no test touches a database it did not create.
 */
export const ADMIN_URL = process.env.CORREO_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Why PostgreSQL tests skip on this machine, or null when the server answers. */
export const pgSkip: string | null = await (async () => {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (e) {
    return `no PostgreSQL server at ${ADMIN_URL} (${(e as Error).message}): apt-get install postgresql, start it (pg_ctlcluster 15 main start), or set CORREO_TEST_PG_URL`;
  } finally {
    await c.end().catch(() => undefined);
  }
})();

/** The URL of database `name` on the test server. */
export function dbUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Creates a fresh empty database; returns its name and URL. */
export async function createTestDb(): Promise<{ name: string; url: string }> {
  const name = `correo_test_${process.pid}_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`));
  return { name, url: dbUrl(name) };
}

/** Drops a database this test created (its name says so), closing what still connects to it. */
export async function dropTestDb(name: string): Promise<void> {
  if (!/^correo_test_\d+_[0-9a-f]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a test database`);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}
