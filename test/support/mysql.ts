import mysql from 'mysql2/promise';

/** The server the MySQL tests use (env SLUICE_TEST_MYSQL, default the machine's MariaDB). */
export const MYSQL_ADMIN_URL = process.env['SLUICE_TEST_MYSQL'] ?? 'mysql://root@127.0.0.1:3306/';

/**
 * Why MariaDB/MySQL cannot be used here (undefined when it can). Under `CI=true` a missing server
 * fails instead.
 */
export async function mysqlUnavailable(): Promise<string | undefined> {
  try {
    const connection = await mysql.createConnection({
      uri: MYSQL_ADMIN_URL,
      connectTimeout: 2_000,
    });
    await connection.end();
    return undefined;
  } catch (error) {
    const reason = `MariaDB/MySQL at ${MYSQL_ADMIN_URL} is not reachable (${(error as Error).message})`;
    if (process.env['CI'] === 'true') throw new Error(`${reason}; CI needs it`, { cause: error });
    return reason;
  }
}
