-- The shared cache and the statistics under a hostile second role and under concurrency: no
-- secret or token reaches them, a role never reads another role's errors, sessions that miss the
-- same answer share one call's outcome (rows or error) within their own time limits, and what is
-- not a regular file in their place is refused at once.
\getenv mock_port MOCK_PORT
\getenv key_id MOCK_KEY_ID
\getenv key_secret MOCK_KEY_SECRET
\getenv pghost PGHOST
\getenv pgport PGPORT
\set endpoint 'http://127.0.0.1:' :mock_port '/{region}'
\set mock 'http://127.0.0.1:' :mock_port
SELECT setting AS datadir FROM pg_settings WHERE name = 'data_directory' \gset
SELECT oid AS db FROM pg_database WHERE datname = current_database() \gset
CREATE SERVER shared FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-beijing,cn-shenzhen', endpoint :'endpoint', sts_endpoint :'mock',
           retry_base_delay_ms '20');
SELECT oid AS srv FROM pg_foreign_server WHERE srvname = 'shared' \gset
\set server_dir :datadir '/pg_stat_tmp/alicloud_fdw/' :db '/' :srv
-- The server's directory (the database server's OS user's), for the shell commands below, which
-- run with $AS_ROOT (empty as root, else sudo).
\setenv SERVER_DIR :server_dir
CREATE FOREIGN TABLE shared_trails (name text, region text, status text) SERVER shared;
GRANT SELECT ON shared_trails TO PUBLIC;
CREATE ROLE alice;
CREATE ROLE bob;
GRANT USAGE ON FOREIGN SERVER shared TO alice, bob;
-- Alice signs with a role's temporary keys (every request carries their SecurityToken); Bob with
-- the account's keys.
CREATE USER MAPPING FOR alice SERVER shared
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret',
           role_arn 'acs:ram::1234567890123456:role/auditor');
CREATE USER MAPPING FOR bob SERVER shared
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER shared
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
ALTER DATABASE alicloud_fdw_regress SET alicloud_fdw.cache = on;
\c -
-- 1. A proxy's error page that quotes the request, token included, and an answer that starts with
-- the secret: Alice's error shows neither.
\! mock-admin fault cn-beijing '{"echo_request":true}'
SET ROLE alice;
SELECT regress_try('SELECT count(*) FROM shared_trails WHERE region = ''cn-beijing''');
\set body '{"body_text":"' :key_secret ' is the secret"}'
\setenv FAULT :body
\! mock-admin fault cn-shenzhen "$FAULT"
SELECT regress_try('SELECT count(*) FROM shared_trails WHERE region = ''cn-shenzhen''');
-- What the statistics keep of these errors is scrubbed too.
SELECT region, last_error_code, last_error LIKE '%SecurityToken: <redacted>%' AS token_scrubbed,
       last_error LIKE '%the answer began: <redacted> is the secret%' AS secret_scrubbed
  FROM alicloud_fdw_stats WHERE server = 'shared' AND action = 'DescribeTrails' ORDER BY region;
RESET ROLE;
\! mock-admin clear-faults
-- 2. Alice, with a wrong secret, filters on a confidential name: the API's StringToSign in her
-- error quotes her key id and the filter.
ALTER USER MAPPING FOR alice SERVER shared
  OPTIONS (DROP role_arn, SET access_key_secret 'wrong-secret-0123456789');
SET ROLE alice;
SELECT regress_try('SELECT count(*) FROM shared_trails WHERE name = ''alice-confidential-project'' AND region = ''cn-beijing''');
-- Alice reads her own last error, her filter in it.
SELECT region, last_error_code, last_error LIKE '%alice-confidential-project%' AS her_filter,
       last_request_id IS NOT NULL AS request_id
  FROM alicloud_fdw_stats WHERE server = 'shared' AND action = 'DescribeTrails' ORDER BY region;
-- Bob, with USAGE on the same server, sees the counts, but none of Alice's error texts, request
-- ids or filters.
SET ROLE bob;
SELECT region, action, calls, errors, last_error_at, last_error_code, last_error, last_request_id
  FROM alicloud_fdw_stats WHERE server = 'shared' ORDER BY region, action;
RESET ROLE;
-- A superuser sees the last error of any role.
SELECT region, last_error_code, last_error LIKE '%alice-confidential-project%' AS her_filter
  FROM alicloud_fdw_stats WHERE server = 'shared' AND action = 'DescribeTrails' ORDER BY region;
-- Nothing on disk holds the secret or a token.
\! $AS_ROOT grep -rl "$MOCK_KEY_SECRET" "$SERVER_DIR" | wc -l
\! $AS_ROOT grep -rE 'SecurityToken(:|=|%3D|%253D) ?[^<% ]' "$SERVER_DIR" | wc -l
ALTER USER MAPPING FOR alice SERVER shared OPTIONS (SET access_key_secret :'key_secret');
-- 3. Three sessions miss the same failing answer at once: one call (three attempts) is made, and
-- all three report its error, with its request id. A session that comes later calls again.
CREATE EXTENSION dblink;
\set conn 'dbname=alicloud_fdw_regress host=' :pghost ' port=' :pgport ' user=postgres'
SELECT dblink_connect(s, :'conn') FROM unnest(ARRAY['s1', 's2', 's3']) s;
\! mock-admin fault cn-shenzhen '{"server_error":1000,"latency_ms":300}'
\! mock-admin reset-calls
SELECT dblink_send_query(s, 'SELECT count(*) FROM shared_trails WHERE region = ''cn-shenzhen''')
  FROM unnest(ARRAY['s1', 's2', 's3']) s;
CREATE TEMP TABLE outcomes (session text, message text, request_id text);
DO $$
DECLARE s text; msg text; detail text;
BEGIN
  FOREACH s IN ARRAY ARRAY['s1', 's2', 's3'] LOOP
    BEGIN
      PERFORM * FROM dblink_get_result(s) AS r(n bigint);
      INSERT INTO outcomes VALUES (s, 'ok', NULL);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
      INSERT INTO outcomes VALUES (s, msg, substring(detail from 'request id: ([^,]*)'));
    END;
    PERFORM * FROM dblink_get_result(s) AS r(n bigint);
  END LOOP;
END $$;
SELECT count(*) AS sessions, count(DISTINCT request_id) AS request_ids, min(message) AS message
  FROM outcomes;
\! mock-admin calls | sort | uniq -c
SELECT regress_try('SELECT count(*) FROM shared_trails WHERE region = ''cn-shenzhen''');
\! mock-admin calls | wc -l
-- The statistics count the one call once, and the other two sessions' shared outcomes.
SELECT calls, coalesced FROM alicloud_fdw_stats
 WHERE server = 'shared' AND region = 'cn-shenzhen' AND action = 'DescribeTrails';
-- With deadline_ms, a session that waits for another's call never waits past its own deadline: a
-- region that never answers fails both sessions within the deadline, not one after the other.
\! mock-admin fault cn-shenzhen '{"hang":true}'
ALTER SERVER shared OPTIONS (ADD deadline_ms '1500');
SELECT clock_timestamp() AS started \gset
SELECT dblink_send_query(s, 'SELECT count(*) FROM shared_trails WHERE region = ''cn-shenzhen''')
  FROM unnest(ARRAY['s1', 's2']) s;
DO $$
DECLARE s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['s1', 's2'] LOOP
    BEGIN
      PERFORM * FROM dblink_get_result(s) AS r(n bigint);
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
    PERFORM * FROM dblink_get_result(s) AS r(n bigint);
  END LOOP;
END $$;
SELECT clock_timestamp() - :'started'::timestamptz < interval '2.5 s' AS both_within_the_deadline;
ALTER SERVER shared OPTIONS (DROP deadline_ms);
\! mock-admin clear-faults
SELECT dblink_disconnect(s) FROM unnest(ARRAY['s1', 's2', 's3']) s;
-- 4. A FIFO in place of every cache entry and of the statistics' logs: the scan neither blocks nor
-- serves them; it calls again, and the FIFOs are gone.
SELECT count(*) FROM shared_trails;
\! $AS_ROOT find "$SERVER_DIR" -name '*.entry' -exec sh -c 'rm "$1" && mkfifo "$1"' _ {} \; -print | wc -l
\! $AS_ROOT sh -c 'for f in "$@"; do rm -f "$f" && mkfifo "$f"; done' _ "$SERVER_DIR/stats/stats.v2.log" "$SERVER_DIR/stats/stats.log"
-- (In a new session: a session that read the entries serves them from memory, without opening
-- their files.)
\c -
SET statement_timeout = '5s';
\! mock-admin reset-calls
SELECT count(*) FROM shared_trails;
\! mock-admin calls | wc -l
SELECT count(*) > 0 AS stats_readable FROM alicloud_fdw_stats WHERE server = 'shared';
RESET statement_timeout;
\! $AS_ROOT find "$SERVER_DIR" -type p | wc -l
ALTER DATABASE alicloud_fdw_regress SET alicloud_fdw.cache = off;
\c -
DROP EXTENSION dblink;
DROP SERVER shared CASCADE;
DROP ROLE alice, bob;
