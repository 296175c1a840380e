// What a Node.js script or service does over node-postgres: see tests/clients/README.md.
// Prints the transcript tests/clients/run.sh compares with expected.out (the same for every client).
'use strict';
const { Client } = require('pg');

const TABLE = 'clients.alicloud_action_trail';
const CONTROL = 'SELECT control_id, account_id, status '
  + 'FROM alicloud_compliance.actiontrail_enabled($1, $2::text[])';

async function mock(path, method = 'GET') {
  const answer = await fetch(process.env.MOCK_URL + path, { method });
  return answer.text();
}

async function main() {
  const client = new Client({
    host: '127.0.0.1',
    port: Number(process.env.CLIENTS_PORT),
    database: process.env.CLIENTS_DATABASE,
    user: 'bi_reader',
    password: process.env.CLIENTS_PASSWORD,
  });
  await client.connect();
  try {
    const one = async (text, values = []) => Object.values((await client.query(text, values)).rows[0])[0];
    console.log(`connected as ${await one('SELECT current_user')} over TCP with a password`);

    // Introspection, as a BI tool does it.
    const columns = await client.query(
      'SELECT column_name, data_type FROM information_schema.columns'
      + " WHERE table_schema = 'clients' AND table_name = 'alicloud_action_trail'"
      + " AND column_name IN ('account_id', 'create_time', 'is_organization_trail', 'raw', 'status')"
      + ' ORDER BY column_name');
    console.log('columns: ' + columns.rows.map((r) => `${r.column_name} ${r.data_type}`).join(', '));
    console.log('comment on status: ' + await one(
      'SELECT col_description($1::regclass, a.attnum) FROM pg_attribute a'
      + " WHERE a.attrelid = $1::regclass AND a.attname = 'status'", [TABLE]));
    console.log('comment on table: ' + await one("SELECT obj_description($1::regclass, 'pg_class')", [TABLE]));

    // A control with a bound parameter, as a server-side prepared statement (a named query),
    // past the point where PostgreSQL switches to a generic plan; the account filter still
    // reaches the API.
    for (let i = 1; i <= 8; i++) {
      if (i === 8) {
        await mock('/_admin/calls', 'DELETE');
      }
      const result = await client.query({ name: 'enabled', text: CONTROL, values: [TABLE, ['2222222222222222']] });
      for (const r of result.rows) {
        console.log(`execution ${i}: ${r.control_id} ${r.account_id} ${r.status}`);
      }
    }
    const calls = (await mock('/_admin/calls?format=text')).split('\n');
    const describe = calls.filter((c) => c.includes(' DescribeTrails')).length;
    const assume = calls.filter((c) => c.includes(' AssumeRole')).length;
    console.log(`calls of execution 8: ${describe} DescribeTrails, ${assume} AssumeRole`);
    const generic = await one("SELECT generic_plans > 0 FROM pg_prepared_statements WHERE statement LIKE '%actiontrail_enabled%'");
    console.log(`server-side prepared statement, generic plan used: ${generic}`);

    // Values in the client's own types.
    const row = (await client.query(
      `SELECT create_time, is_organization_trail, raw FROM ${TABLE}`
      + " WHERE name = 'acme-prod-trail' AND region = home_region")).rows[0];
    if (!(row.create_time instanceof Date)) throw new Error('create_time is not a Date');
    console.log(`create_time: ${row.create_time.toISOString().replace('.000Z', 'Z')} (a timestamp with a time zone)`);
    if (typeof row.is_organization_trail !== 'boolean') throw new Error('not a boolean');
    console.log(`is_organization_trail: ${row.is_organization_trail} (a boolean)`);
    if (typeof row.raw !== 'object') throw new Error('raw is not an object');
    console.log(`raw: Name = ${row.raw.Name}, EventRW = ${row.raw.EventRW} (a JSON object)`);

    // A bad credential: an error a person can act on.
    try {
      await client.query('SELECT count(*) FROM clients_bad.alicloud_action_trail');
      console.log('bad credential: no error');
    } catch (e) {
      // The API's message goes on with the string it signed (a nonce, a time): cut there.
      const message = e.message.split(' server string to sign')[0];
      console.log(`bad credential: SQLSTATE ${e.code}: ${message}`);
      console.log(`bad credential hint: ${e.hint}`);
    }
  } finally {
    await client.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
