-- Pushdown, shown by the calls the mock API received.
-- No qual: one DescribeTrails per configured region, shadow and multi-account trails asked for.
\! mock-admin reset-calls
SELECT count(*) FROM alicloud_action_trail;
\! mock-admin calls
-- region = ...: only that region is called.
\! mock-admin reset-calls
SELECT name FROM alicloud_action_trail WHERE region = 'cn-shanghai' ORDER BY name;
\! mock-admin calls
-- region IN (...): those regions only.
\! mock-admin reset-calls
SELECT region, count(*) FROM alicloud_action_trail
 WHERE region IN ('cn-beijing', 'cn-shenzhen') GROUP BY region ORDER BY region;
\! mock-admin calls
-- A region that is not configured: no call at all, no rows.
\! mock-admin reset-calls
SELECT count(*) FROM alicloud_action_trail WHERE region = 'us-east-1';
\! mock-admin calls
-- name = ... and name IN (...): sent as NameList.
\! mock-admin reset-calls
SELECT name, region FROM alicloud_action_trail WHERE name = 'beijing-disabled';
SELECT name, region FROM alicloud_action_trail
 WHERE name IN ('test-4', 'org-audit-shanghai') AND region = 'cn-shanghai' ORDER BY name;
\! mock-admin calls
-- OR across columns cannot be pushed down: every region is called, Postgres filters.
\! mock-admin reset-calls
SELECT name, region FROM alicloud_action_trail
 WHERE region = 'cn-shenzhen' OR name = 'beijing-disabled' ORDER BY region, name;
\! mock-admin calls
-- A prepared statement's parameter is pushed down too.
\! mock-admin reset-calls
PREPARE by_region(text) AS SELECT name FROM alicloud_action_trail WHERE region = $1 ORDER BY name;
EXECUTE by_region('cn-beijing');
\! mock-admin calls
DEALLOCATE by_region;
-- GetCallerIdentity only when account_id or akas is selected, and once per session.
\! mock-admin reset-calls
SELECT count(*) FROM alicloud_action_trail WHERE region = 'cn-shenzhen';
SELECT DISTINCT account_id FROM alicloud_action_trail WHERE region = 'cn-shenzhen';
SELECT count(DISTINCT akas) FROM alicloud_action_trail WHERE region = 'cn-shenzhen';
\! mock-admin calls
-- The planner's estimate follows the regions called (5 rows assumed per region).
EXPLAIN SELECT * FROM alicloud_action_trail;
EXPLAIN SELECT * FROM alicloud_action_trail WHERE region = 'cn-beijing';
EXPLAIN SELECT * FROM alicloud_action_trail WHERE name IN ('a', 'b');
-- regions '*': every region DescribeRegions reports (28 in the mock), asked once per session.
\getenv mock_port MOCK_PORT
\getenv key_id MOCK_KEY_ID
\getenv key_secret MOCK_KEY_SECRET
\set endpoint 'http://127.0.0.1:' :mock_port '/{region}'
CREATE SERVER every_region FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions '*', endpoint :'endpoint', max_concurrency '28');
CREATE USER MAPPING FOR CURRENT_USER SERVER every_region
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE FOREIGN TABLE every_trail (name text, region text) SERVER every_region;
\! mock-admin reset-calls
SELECT count(*) AS trails, count(DISTINCT region) AS regions FROM every_trail;
SELECT count(*) AS trails FROM every_trail WHERE region = 'eu-central-1';
\! mock-admin calls | awk '{print $2}' | sort | uniq -c
DROP SERVER every_region CASCADE;
