-- Pushdown, shown by the calls the mock API received.
-- No qual: one DescribeTrails per configured region, shadow and multi-account trails asked for.
\! curl -s -o /dev/null -X DELETE "http://127.0.0.1:$MOCK_PORT/_admin/calls"
SELECT count(*) FROM alicloud_action_trail;
\! curl -s "http://127.0.0.1:$MOCK_PORT/_admin/calls?format=text"
-- region = ...: only that region is called.
\! curl -s -o /dev/null -X DELETE "http://127.0.0.1:$MOCK_PORT/_admin/calls"
SELECT name FROM alicloud_action_trail WHERE region = 'cn-shanghai' ORDER BY name;
\! curl -s "http://127.0.0.1:$MOCK_PORT/_admin/calls?format=text"
-- region IN (...): those regions only.
\! curl -s -o /dev/null -X DELETE "http://127.0.0.1:$MOCK_PORT/_admin/calls"
SELECT region, count(*) FROM alicloud_action_trail
 WHERE region IN ('cn-beijing', 'cn-shenzhen') GROUP BY region ORDER BY region;
\! curl -s "http://127.0.0.1:$MOCK_PORT/_admin/calls?format=text"
-- A region that is not configured: no call at all, no rows.
\! curl -s -o /dev/null -X DELETE "http://127.0.0.1:$MOCK_PORT/_admin/calls"
SELECT count(*) FROM alicloud_action_trail WHERE region = 'us-east-1';
\! curl -s "http://127.0.0.1:$MOCK_PORT/_admin/calls?format=text"
-- name = ... and name IN (...): sent as NameList.
\! curl -s -o /dev/null -X DELETE "http://127.0.0.1:$MOCK_PORT/_admin/calls"
SELECT name, region FROM alicloud_action_trail WHERE name = 'beijing-disabled';
SELECT name, region FROM alicloud_action_trail
 WHERE name IN ('test-4', 'org-audit-shanghai') AND region = 'cn-shanghai' ORDER BY name;
\! curl -s "http://127.0.0.1:$MOCK_PORT/_admin/calls?format=text"
-- OR across columns cannot be pushed down: every region is called, Postgres filters.
\! curl -s -o /dev/null -X DELETE "http://127.0.0.1:$MOCK_PORT/_admin/calls"
SELECT name, region FROM alicloud_action_trail
 WHERE region = 'cn-shenzhen' OR name = 'beijing-disabled' ORDER BY region, name;
\! curl -s "http://127.0.0.1:$MOCK_PORT/_admin/calls?format=text"
-- A prepared statement's parameter is pushed down too.
\! curl -s -o /dev/null -X DELETE "http://127.0.0.1:$MOCK_PORT/_admin/calls"
PREPARE by_region(text) AS SELECT name FROM alicloud_action_trail WHERE region = $1 ORDER BY name;
EXECUTE by_region('cn-beijing');
\! curl -s "http://127.0.0.1:$MOCK_PORT/_admin/calls?format=text"
DEALLOCATE by_region;
-- GetCallerIdentity only when account_id or akas is selected, and once per session.
\! curl -s -o /dev/null -X DELETE "http://127.0.0.1:$MOCK_PORT/_admin/calls"
SELECT count(*) FROM alicloud_action_trail WHERE region = 'cn-shenzhen';
SELECT DISTINCT account_id FROM alicloud_action_trail WHERE region = 'cn-shenzhen';
SELECT count(DISTINCT akas) FROM alicloud_action_trail WHERE region = 'cn-shenzhen';
\! curl -s "http://127.0.0.1:$MOCK_PORT/_admin/calls?format=text"
-- The planner's estimate follows the regions called (5 rows assumed per region).
EXPLAIN SELECT * FROM alicloud_action_trail;
EXPLAIN SELECT * FROM alicloud_action_trail WHERE region = 'cn-beijing';
EXPLAIN SELECT * FROM alicloud_action_trail WHERE name IN ('a', 'b');
