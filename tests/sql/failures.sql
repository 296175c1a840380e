-- Failing regions, retries, and what the user is told. The mock's faults are set per region through
-- its admin endpoint; request ids are pinned so the output is stable.
SET client_min_messages = warning;
-- One region refuses permanently: the query fails, naming operation, region, code and message,
-- with the request id in DETAIL and a hint.
\! mock-admin fault cn-beijing '{"error_code":"Forbidden.RAM","request_id":"REQ-BEIJING-1"}'
SELECT count(*) FROM alicloud_action_trail;
-- Two regions fail: the first is reported, DETAIL names the other.
\! mock-admin fault cn-shenzhen '{"error_code":"NoPermission","request_id":"REQ-SHENZHEN-1"}'
SELECT count(*) FROM alicloud_action_trail;
-- With ignore_error_codes, those regions are skipped with a WARNING each.
ALTER SERVER alicloud OPTIONS (ADD ignore_error_codes 'Forbidden.RAM,NoPermission');
SELECT region, count(*) FROM alicloud_action_trail GROUP BY region ORDER BY region;
-- Codes not in the list still fail the query.
\! mock-admin fault cn-shenzhen '{"error_code":"InvalidQueryParameter","request_id":"REQ-SHENZHEN-2"}'
SELECT region, count(*) FROM alicloud_action_trail GROUP BY region ORDER BY region;
ALTER SERVER alicloud OPTIONS (DROP ignore_error_codes);
\! mock-admin clear-faults
-- Throttling twice, then success: retried (three calls to cn-shanghai), the query succeeds.
\! mock-admin reset-calls
\! mock-admin fault cn-shanghai '{"throttle":2,"retry_after_ms":30}'
SELECT count(*) FROM alicloud_action_trail WHERE region = 'cn-shanghai';
\! mock-admin calls
-- Throttled past max_attempts (3): the throttling error, with its hint.
\! mock-admin fault cn-shanghai '{"throttle":5,"request_id":"REQ-THROTTLED"}'
SELECT count(*) FROM alicloud_action_trail WHERE region = 'cn-shanghai';
-- A 503 once, then success.
\! mock-admin fault cn-shanghai '{"server_error":1}'
SELECT count(*) FROM alicloud_action_trail WHERE region = 'cn-shanghai';
-- An HTML error page (502, retried, then reported with an excerpt).
\! mock-admin fault cn-shanghai '{"html_error":true}'
SELECT count(*) FROM alicloud_action_trail WHERE region = 'cn-shanghai';
-- A 200 whose JSON is cut short (not retried).
\! mock-admin fault cn-shanghai '{"malformed_json":true}'
SELECT regress_try($$SELECT count(*) FROM alicloud_action_trail WHERE region = 'cn-shanghai'$$);
-- A body that trickles in still arrives whole.
\! mock-admin fault cn-shanghai '{"trickle_ms":5}'
SELECT count(*) FROM alicloud_action_trail WHERE region = 'cn-shanghai';
\! mock-admin clear-faults
-- Nothing listens: a connection error that names the endpoint (never the signed query).
CREATE SERVER nowhere FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint 'http://127.0.0.1:1/{region}', max_attempts '2',
           retry_base_delay_ms '10');
CREATE USER MAPPING FOR CURRENT_USER SERVER nowhere
  OPTIONS (access_key_id 'LTAI5tMockAccessKey0001', access_key_secret 'not-a-real-secret-000');
CREATE FOREIGN TABLE nowhere_trails (name text) SERVER nowhere;
SELECT name FROM nowhere_trails;
DROP SERVER nowhere CASCADE;
