-- Hostile or broken answers and inputs: redirects, answers too large or endless, values
-- PostgreSQL cannot hold, region ids that are not region ids, huge error messages, huge or
-- contradictory filters, endpoints with passwords or impossible ports.
\getenv mock_port MOCK_PORT
\getenv key_id MOCK_KEY_ID
\getenv key_secret MOCK_KEY_SECRET
\set endpoint 'http://127.0.0.1:' :mock_port '/{region}'
\set mock 'http://127.0.0.1:' :mock_port
SET alicloud_fdw.cache = off;
SET client_min_messages = warning;
-- A redirect is never followed (no second call, nothing sent to the target), and the error names
-- the status and the target's host, not its query.
\! mock-admin reset-calls
\! mock-admin fault cn-beijing '{"redirect_to":"http://collector.invalid:8080/steal?SecurityToken=x","redirect_status":307}'
SELECT count(*) FROM alicloud_action_trail WHERE region = 'cn-beijing';
\! mock-admin fault cn-beijing '{"redirect_to":"/cn-shanghai"}'
SELECT count(*) FROM alicloud_action_trail WHERE region = 'cn-beijing';
\! mock-admin calls
\! mock-admin clear-faults
-- Answers larger than max_response_mb stop being read at the limit: a padded answer, and one that
-- never ends (it would grow until the time limit otherwise).
CREATE SERVER small FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-beijing', endpoint :'endpoint', sts_endpoint :'mock', max_response_mb '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER small
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE FOREIGN TABLE small_trails (name text) SERVER small;
\! mock-admin fault cn-beijing '{"pad_bytes":2000000}'
SELECT count(*) FROM small_trails;
\! mock-admin fault cn-beijing '{"pad_bytes":500000}'
SELECT count(*) FROM small_trails;
\! mock-admin fault cn-beijing '{"endless":true}'
SET statement_timeout = '20s';
SELECT count(*) FROM small_trails;
RESET statement_timeout;
\! mock-admin clear-faults
DROP SERVER small CASCADE;
-- A NUL character in a text field cannot be stored in PostgreSQL text (nor \u0000 in jsonb): the
-- query says so, naming the trail, the region and the column, instead of cutting the value.
-- Queries that do not read those columns are unaffected.
\! mock-admin fault cn-beijing '{"append_item":{"Name":"nul\u0000name","HomeRegion":"cn-beijing","Status":"Enable"}}'
SELECT name FROM alicloud_action_trail WHERE region = 'cn-beijing';
SELECT raw FROM alicloud_action_trail WHERE region = 'cn-beijing';
SELECT count(*), count(status) FROM alicloud_action_trail WHERE region = 'cn-beijing';
\! mock-admin clear-faults
-- Region ids from DescribeRegions go into URLs: one that is not a region id fails the query.
CREATE SERVER all_regions FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions '*', endpoint :'endpoint', sts_endpoint :'mock');
CREATE USER MAPPING FOR CURRENT_USER SERVER all_regions
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE FOREIGN TABLE all_trails (name text, region text) SERVER all_regions;
\! mock-admin fault cn-hangzhou '{"append_item":{"RegionId":"xa-q?Injected=1#frag"}}'
SELECT count(*) FROM all_trails;
\! mock-admin fault cn-hangzhou '{"append_item":{"RegionId":"../../x"}}'
SELECT count(*) FROM all_trails;
\! mock-admin clear-faults
-- Contradictory conditions make no call at all, not even DescribeRegions.
\! mock-admin reset-calls
SELECT count(*) FROM all_trails WHERE name = 'a' AND name = 'b';
SELECT count(*) FROM all_trails WHERE region = 'cn-beijing' AND region = 'cn-hangzhou';
SELECT count(*) FROM all_trails WHERE name = NULL;
\! mock-admin calls
DROP SERVER all_regions CASCADE;
-- A filter too long to send as NameList is not sent: the rows are still right.
\! mock-admin reset-calls
SELECT count(*) FROM alicloud_action_trail WHERE name = repeat('x', 70000);
SELECT name, region FROM alicloud_action_trail
 WHERE name IN ('beijing-disabled', repeat('x', 70000)) ORDER BY region;
\! mock-admin calls | sort | uniq -c
-- A huge error message is cut to a readable length.
\! mock-admin fault cn-beijing '{"error_code":"InvalidParameter","message_pad_bytes":1000000,"request_id":"REQ-HUGE"}'
SELECT length(line) < 700 AS short, left(line, 100) AS starts
  FROM regress_try($$SELECT count(*) FROM alicloud_action_trail WHERE region = 'cn-beijing'$$) line;
\! mock-admin clear-faults
-- Endpoints: no user name or password (they would be repeated in messages), a valid port.
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (endpoint 'https://user:hunter2-secret@example.com/{region}');
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (endpoint 'http://127.0.0.1:99999/{region}');
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (sts_endpoint 'http://[::1/');
