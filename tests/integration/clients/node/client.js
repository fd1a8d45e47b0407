// Runs a fixed set of checks through a PostgreSQL endpoint with node-postgres and prints
// them as JSON: simple query (also several statements at once), typed parameters, a
// multi-row result, a named prepared statement, and an error with its SQLSTATE.
// Usage: node client.js [--host H] [--port P] [--user U] [--password W] [--dbname D]
//        [--purpose NAME]; PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and PGW_PURPOSE
//        are used for what is not given.
'use strict';

const { Client } = require('pg');

const ROWS_SQL = 'SELECT id, name, phone FROM customers ORDER BY id LIMIT 20';
const BY_ID_SQL = 'SELECT id, name, phone FROM customers WHERE id = $1';
const LOOKUPS = 5;

function options(argv) {
  const env = process.env;
  const opt = {
    host: env.PGHOST || '127.0.0.1',
    port: env.PGPORT || '5432',
    user: env.PGUSER || 'postgres',
    password: env.PGPASSWORD || '',
    dbname: env.PGDATABASE || 'postgres',
    purpose: env.PGW_PURPOSE || '',
  };
  for (let i = 0; i + 1 < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!argv[i].startsWith('--') || !(key in opt)) throw new Error(`unknown argument ${argv[i]}`);
    opt[key] = argv[i + 1];
  }
  return opt;
}

// node-postgres returns bigint as text; ids are numbers in the report, as with JDBC.
function customerRow(row) {
  return { id: Number(row.id), name: row.name, phone: row.phone };
}

async function error(client, sql) {
  try {
    await client.query(sql);
    return { sqlstate: null };
  } catch (err) {
    return { sqlstate: err.code || null, message: err.message };
  }
}

async function run(client) {
  const report = { client: 'node-postgres', driver: require('pg/package.json').version };
  report.purpose = Object.values((await client.query('SHOW privacy.purpose')).rows[0])[0];
  report.simple = (await client.query("SELECT 1 AS one, 'ok'::text AS word")).rows[0];
  const several = await client.query('SELECT 1 AS n; SELECT 2 AS n');
  report.multi_statement = several.map((result) => result.rows[0].n);
  const params = await client.query({
    text: 'SELECT $1::int * 2 AS doubled, $2::text AS echo, $3::numeric AS amount',
    values: [21, '你好', '12.50'],
  });
  report.params = params.rows[0];
  report.rows = (await client.query(ROWS_SQL)).rows.map(customerRow);
  report.prepared = [];
  for (const row of report.rows.slice(0, LOOKUPS)) {
    const found = await client.query({ name: 'customer_by_id', text: BY_ID_SQL, values: [row.id] });
    report.prepared.push(...found.rows.map(customerRow));
  }
  report.error = await error(client, 'SELECT 1/0');
  report.after_error = (await client.query('SELECT 1 AS one')).rows[0].one;
  return report;
}

async function main() {
  const opt = options(process.argv.slice(2));
  const client = new Client({
    host: opt.host,
    port: Number(opt.port),
    user: opt.user,
    password: opt.password,
    database: opt.dbname,
    application_name: 'privacy-gateway-node-check',
    options: opt.purpose ? `-c privacy.purpose=${opt.purpose}` : undefined,
  });
  await client.connect();
  try {
    process.stdout.write(JSON.stringify(await run(client)) + '\n');
  } finally {
    await client.end();
  }
}

main().catch((err) => {
  process.stderr.write(`node client check failed: ${err.code || ''} ${err.message}\n`);
  process.exit(1);
});
