-- Many accounts in one query: a server whose member_accounts are each reached by assuming
-- member_role_name with the user mapping's keys. In the mock's fixture, the role ActionTrailAudit
-- of members 1111..., 2222... and 3333... trusts the default account; 4444...'s does not.
\getenv mock_port MOCK_PORT
\getenv key_id MOCK_KEY_ID
\getenv key_secret MOCK_KEY_SECRET
\set endpoint 'http://127.0.0.1:' :mock_port '/{region}'
\set mock 'http://127.0.0.1:' :mock_port
\! mock-admin clear-faults
CREATE SERVER org FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou,cn-beijing', endpoint :'endpoint', sts_endpoint :'mock',
           retry_base_delay_ms '20',
           member_accounts '1111111111111111, 2222222222222222, 3333333333333333',
           member_role_name 'ActionTrailAudit');
CREATE USER MAPPING FOR CURRENT_USER SERVER org
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE SCHEMA org;
IMPORT FOREIGN SCHEMA alicloud LIMIT TO (alicloud_action_trail) FROM SERVER org INTO org;
-- Rows from every member, each named by its account and connection: one role session and one
-- listing per member and region, no GetCallerIdentity (a member's account id is known).
\! mock-admin reset-calls
SELECT sp_connection_name, account_id, region, name, status, _ctx ->> 'connection_name' AS ctx
  FROM org.alicloud_action_trail ORDER BY account_id, region;
\! mock-admin calls | cut -d' ' -f1-3 | sed 's/RoleSessionName=.*//'
-- The query forms Steampipe users write over an aggregator run unchanged.
SELECT _ctx ->> 'connection_name' AS connection, count(*) AS trails,
       count(*) FILTER (WHERE status = 'Enable') AS logging
  FROM org.alicloud_action_trail WHERE NOT is_shadow_trail GROUP BY 1 ORDER BY 1;
SELECT sp_ctx FROM org.alicloud_action_trail WHERE sp_connection_name = 'org.2222222222222222';
-- account_id and sp_connection_name choose the members before any call: the role sessions are
-- kept, and only the chosen members' regions are listed.
\! mock-admin reset-calls
SELECT account_id, name FROM org.alicloud_action_trail
  WHERE account_id = '2222222222222222';
\! mock-admin calls | cut -d' ' -f1-2
\! mock-admin reset-calls
SELECT DISTINCT sp_connection_name FROM org.alicloud_action_trail
  WHERE sp_connection_name IN ('org.1111111111111111', 'org.3333333333333333', 'alicloud')
  ORDER BY 1;
\! mock-admin calls | cut -d' ' -f1-2
SELECT count(*) FROM org.alicloud_action_trail WHERE account_id = '9999999999999999';
\! mock-admin calls | wc -l
EXPLAIN (COSTS OFF) SELECT name FROM org.alicloud_action_trail
  WHERE account_id IN ('1111111111111111', '3333333333333333');
-- A member whose role does not trust the caller fails the query, named in DETAIL.
ALTER SERVER org OPTIONS (SET member_accounts
  '1111111111111111,2222222222222222,3333333333333333,4444444444444444');
SELECT * FROM regress_try('SELECT count(*) FROM org.alicloud_action_trail');
-- Under member_failure 'skip' it is a WARNING naming the member, the action, the code and the
-- request id, and the other members' rows come back. (The first query makes the role sessions of
-- the members that work; the AssumeRole of 4444... then answers with a pinned request id.)
ALTER SERVER org OPTIONS (ADD member_failure 'skip');
SET client_min_messages = error;
SELECT count(*) FROM org.alicloud_action_trail;
RESET client_min_messages;
\! mock-admin fault '*' '{"actions":["AssumeRole"],"error_code":"NoPermission","request_id":"REQ-ASSUME-4444"}'
SELECT account_id, count(*) FROM org.alicloud_action_trail GROUP BY 1 ORDER BY 1;
\! mock-admin clear-faults
-- When every member fails, the query fails even under skip: no rows would read as compliant.
ALTER SERVER org OPTIONS (SET member_accounts '4444444444444444');
SELECT * FROM regress_try('SELECT count(*) FROM org.alicloud_action_trail');
-- The member options are checked, and go together.
ALTER SERVER org OPTIONS (SET member_accounts '4444-4444');
ALTER SERVER org OPTIONS (DROP member_role_name);
ALTER SERVER org OPTIONS (SET member_failure 'sometimes');
-- member_accounts 'directory': the accounts that joined the caller's resource directory
-- (ListAccounts, pages of 100), listed when the scan starts. 5555... is still being promoted into
-- the directory, so it is left out.
CREATE SERVER org_directory FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou,cn-beijing', endpoint :'endpoint', sts_endpoint :'mock',
           resourcemanager_endpoint :'mock', retry_base_delay_ms '20',
           member_accounts 'directory', member_role_name 'ActionTrailAudit');
CREATE USER MAPPING FOR CURRENT_USER SERVER org_directory
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE FOREIGN TABLE directory_trails (sp_connection_name text, account_id text, name text)
  SERVER org_directory OPTIONS (table 'alicloud_action_trail');
\! mock-admin reset-calls
SELECT DISTINCT sp_connection_name, account_id, name FROM directory_trails ORDER BY account_id;
\! mock-admin calls | cut -d' ' -f1-3 | sed 's/RoleSessionName=.*//' | uniq -c
EXPLAIN (COSTS OFF) SELECT name FROM directory_trails;
DROP SERVER org_directory CASCADE;
DROP SCHEMA org CASCADE;
DROP SERVER org CASCADE;
