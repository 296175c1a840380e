-- Paying the API once: one snapshot per statement, the cache shared by all sessions (scoped by
-- credentials), its controls, the statistics view and EXPLAIN ANALYZE. The mock's call log shows
-- every call made.
\getenv mock_port MOCK_PORT
\getenv key_id MOCK_KEY_ID
\getenv key_secret MOCK_KEY_SECRET
\set endpoint 'http://127.0.0.1:' :mock_port '/{region}'
\set mock 'http://127.0.0.1:' :mock_port
-- 1. One snapshot per statement (the cache is off in this database, so only the snapshot acts).
-- A compliance query that reads the table four times makes one DescribeTrails per region, and
-- every read sees the same rows.
\! mock-admin reset-calls
WITH per_region AS (SELECT region, count(*) AS n FROM alicloud_action_trail GROUP BY region),
     enabled AS (SELECT region, count(*) AS n FROM alicloud_action_trail WHERE status = 'Enable' GROUP BY region),
     shadows AS (SELECT name, region FROM alicloud_action_trail WHERE trail_region = 'All' AND home_region <> region)
SELECT t.region, t.name, p.n AS trails_in_region, coalesce(e.n, 0) AS enabled_in_region,
       s.name IS NOT NULL AS shadow
  FROM alicloud_action_trail t
  JOIN per_region p USING (region)
  LEFT JOIN enabled e USING (region)
  LEFT JOIN shadows s ON s.name = t.name AND s.region = t.region
 ORDER BY 1, 2;
\! mock-admin calls
-- A self-join.
\! mock-admin reset-calls
SELECT count(*) FROM alicloud_action_trail a JOIN alicloud_action_trail b USING (name, region);
\! mock-admin calls
-- LATERAL over three names, which PostgreSQL turns into a join: one call per region.
\! mock-admin reset-calls
SELECT v.n, t.region
  FROM (VALUES ('test-4'), ('beijing-disabled'), ('no-such-trail')) v(n),
  LATERAL (SELECT region FROM alicloud_action_trail t WHERE t.name = v.n) t
 ORDER BY 1, 2;
\! mock-admin calls | sort | uniq -c
-- The same, as a subquery PostgreSQL cannot flatten: the scan is rescanned with each name as a
-- parameter. The first name is sent as NameList; the second asks for the full listing once, which
-- then answers every later name: never the same request twice.
\! mock-admin reset-calls
SELECT v.n, c.trails
  FROM (VALUES ('test-4'), ('beijing-disabled'), ('no-such-trail'), ('test-4')) v(n),
  LATERAL (SELECT count(*) AS trails FROM alicloud_action_trail t WHERE t.name = v.n) c
 ORDER BY 1, 2;
\! mock-admin calls | sort | uniq -c
-- 2. The shared cache, on a server of its own.
CREATE SERVER cached FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou,cn-shanghai,cn-beijing,cn-shenzhen', endpoint :'endpoint',
           sts_endpoint :'mock', retry_base_delay_ms '20');
CREATE USER MAPPING FOR CURRENT_USER SERVER cached
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE FOREIGN TABLE cached_trails (name text, region text, status text, account_id text)
  SERVER cached;
GRANT SELECT ON cached_trails TO PUBLIC;
SELECT alicloud_fdw_stats_reset('cached');
SET alicloud_fdw.cache = on;
\! mock-admin reset-calls
SELECT * FROM regress_explain_analyze('SELECT count(*) FROM cached_trails');
SELECT count(*) FROM cached_trails;
SELECT * FROM regress_explain_analyze('SELECT count(*) FROM cached_trails WHERE name = ''test-4''');
\! mock-admin calls
-- Another session, within the TTL: no call.
\c -
SET alicloud_fdw.cache = on;
\! mock-admin reset-calls
SELECT region, count(*) FROM cached_trails GROUP BY region ORDER BY region;
SELECT DISTINCT account_id FROM cached_trails;
SELECT DISTINCT account_id FROM cached_trails;
\! mock-admin calls
-- Controls: the setting, for a session or a transaction.
BEGIN;
SET LOCAL alicloud_fdw.cache = off;
SELECT count(*) FROM cached_trails WHERE region = 'cn-beijing';
COMMIT;
\! mock-admin calls
\! mock-admin reset-calls
SELECT count(*) FROM cached_trails WHERE region = 'cn-beijing';
\! mock-admin calls
-- Clearing the cache of one server.
SELECT alicloud_fdw_clear_cache('cached') > 0 AS cleared;
SELECT count(*) FROM cached_trails WHERE region = 'cn-beijing';
\! mock-admin calls
-- ALTER SERVER changes what answers are cached against: the next scan calls again.
\! mock-admin reset-calls
ALTER SERVER cached OPTIONS (ADD timeout_ms '9000');
SELECT count(*) FROM cached_trails WHERE region = 'cn-shanghai';
SELECT count(*) FROM cached_trails WHERE region = 'cn-shanghai';
\! mock-admin calls
-- ALTER USER MAPPING takes effect at once in this session too (its client is dropped): a wrong
-- secret is not served from the cache, and the right one again finds its answers there.
\! mock-admin reset-calls
ALTER USER MAPPING FOR CURRENT_USER SERVER cached
  OPTIONS (SET access_key_secret 'wrong-secret-0123456789');
SELECT regress_try('SELECT count(*) FROM cached_trails WHERE region = ''cn-shanghai''') LIMIT 2;
ALTER USER MAPPING FOR CURRENT_USER SERVER cached OPTIONS (SET access_key_secret :'key_secret');
SELECT count(*) FROM cached_trails WHERE region = 'cn-shanghai';
\! mock-admin calls
-- cache_ttl: answers older than it are asked again.
ALTER SERVER cached OPTIONS (ADD cache_ttl '1');
\! mock-admin reset-calls
SELECT count(*) FROM cached_trails WHERE region = 'cn-shenzhen';
SELECT count(*) FROM cached_trails WHERE region = 'cn-shenzhen';
SELECT pg_sleep(1.2);
SELECT count(*) FROM cached_trails WHERE region = 'cn-shenzhen';
\! mock-admin calls
ALTER SERVER cached OPTIONS (DROP cache_ttl);
-- Errors are never cached: a failing region is asked again next time, the others come from the
-- cache.
\! mock-admin reset-calls
\! mock-admin fault cn-beijing '{"error_code":"Forbidden.RAM","request_id":"REQ-NOT-CACHED"}'
SELECT count(*) FROM cached_trails;
\! mock-admin clear-faults
SELECT count(*) FROM cached_trails;
SELECT count(*) FROM cached_trails;
\! mock-admin calls
-- Scoped by credentials: right after the answers are cached, a mapping with the same key id and a
-- wrong secret still gets SignatureDoesNotMatch, and a user without permission Forbidden.RAM.
CREATE ROLE bob;
CREATE ROLE carol;
GRANT USAGE ON FOREIGN SERVER cached TO bob, carol;
CREATE USER MAPPING FOR bob SERVER cached
  OPTIONS (access_key_id :'key_id', access_key_secret 'wrong-secret-0123456789');
CREATE USER MAPPING FOR carol SERVER cached
  OPTIONS (access_key_id 'LTAI5tMockNoPermission01', access_key_secret 'MockSecretNoPermission0123456789');
SELECT count(*) FROM cached_trails;
SET ROLE bob;
SELECT regress_try('SELECT count(*) FROM cached_trails WHERE region = ''cn-hangzhou''');
SET ROLE carol;
SELECT regress_try('SELECT count(*) FROM cached_trails WHERE region = ''cn-hangzhou''');
RESET ROLE;
-- 3. Statistics: per server, region and action, what was called and what it cost.
SELECT server, region, action, calls, errors, cache_hits, cache_misses, rows,
       bytes > 0 AS bytes, max_ms >= 0 AS timed, last_error_code, regress_mask(last_request_id)
  FROM alicloud_fdw_stats WHERE server = 'cached' ORDER BY region, action;
-- Only servers the user may use are shown.
SET ROLE bob;
SELECT count(*) AS visible_to_bob FROM alicloud_fdw_stats WHERE server = 'cached';
SELECT count(*) AS visible_elsewhere FROM alicloud_fdw_stats WHERE server <> 'cached';
-- Only owners and superusers clear a server's cache.
SELECT alicloud_fdw_clear_cache('cached');
SELECT alicloud_fdw_clear_cache();
RESET ROLE;
DROP OWNED BY bob, carol;
DROP ROLE bob, carol;
DROP SERVER cached CASCADE;
