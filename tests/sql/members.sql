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
-- LIKE on sp_connection_name too (case and all): only the members whose name matches are listed.
\! mock-admin reset-calls
SELECT DISTINCT sp_connection_name FROM org.alicloud_action_trail
  WHERE sp_connection_name LIKE 'org.3%';
\! mock-admin calls | cut -d' ' -f1-2
-- An account that is no member: no call at all.
\! mock-admin reset-calls
SELECT count(*) FROM org.alicloud_action_trail WHERE account_id = '9999999999999999';
\! mock-admin calls | wc -l
-- Role sessions that end before their time (revoked, or a clock ahead of ours) are renewed
-- once per member, and every listing is made again with the new session: the scan goes on.
\! mock-admin expire-temporary-keys
\! mock-admin reset-calls
SELECT count(*) FROM org.alicloud_action_trail;
\! mock-admin calls | cut -d' ' -f2 | sort | uniq -c
EXPLAIN (COSTS OFF) SELECT name FROM org.alicloud_action_trail
  WHERE account_id IN ('1111111111111111', '3333333333333333');
EXPLAIN (COSTS OFF) SELECT name FROM org.alicloud_action_trail
  WHERE sp_connection_name LIKE '%1' AND sp_connection_name NOT LIKE 'x%';
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
-- Warnings are lost in scheduled jobs: each member's last outcome stays in the statistics (the
-- member's scans, failures by code, and its last error with the request id), and its calls are
-- counted apart from the other members'.
SELECT member, scans, errors, last_ok_at IS NOT NULL AS succeeded_once, last_error_code,
       last_request_id
  FROM alicloud_fdw_stats WHERE server = 'org' AND action = 'member scan' ORDER BY member;
SELECT member, region, calls FROM alicloud_fdw_stats
 WHERE server = 'org' AND action = 'DescribeTrails' AND member LIKE '%1111' ORDER BY region;
-- STS refuses an account's own (root) keys: with the mock told so, every member fails on
-- AssumeRole, and the hint says why.
\! mock-admin sts-rules '{"refuse_account_keys": true}'
\! mock-admin expire-temporary-keys
SELECT * FROM regress_try('SELECT count(*) FROM org.alicloud_action_trail');
\! mock-admin sts-rules '{"refuse_account_keys": false}'
-- A listing that never answers in every member's cn-beijing, during a fan-out over four
-- accounts: statement_timeout stops it all, and the next query works.
\! mock-admin fault cn-beijing '{"hang": true}'
SET statement_timeout = '300ms';
SELECT count(*) FROM org.alicloud_action_trail;
RESET statement_timeout;
\! mock-admin clear-faults
SET client_min_messages = error;
SELECT count(*) FROM org.alicloud_action_trail;
RESET client_min_messages;
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
-- After the scan, EXPLAIN ANALYZE counts the directory's accounts, and names those left out.
SELECT * FROM regress_explain_analyze('SELECT name FROM directory_trails');
DROP SERVER org_directory CASCADE;
-- A role that may use org sees its role members' rows too: they ride org's own credentials.
CREATE ROLE org_reader;
GRANT USAGE ON FOREIGN SERVER org TO org_reader;
SET ROLE org_reader;
SELECT DISTINCT member FROM alicloud_fdw_stats WHERE server = 'org' ORDER BY 1;
RESET ROLE;
DROP OWNED BY org_reader;
DROP ROLE org_reader;
DROP SCHEMA org CASCADE;
DROP SERVER org CASCADE;
-- member_external_id: a role whose trust policy asks for an external id (2222...'s ExternalAudit)
-- is refused without it, naming the member and the role, and assumed with it.
CREATE SERVER org_external FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-beijing', endpoint :'endpoint', sts_endpoint :'mock',
           retry_base_delay_ms '20', member_accounts '2222222222222222',
           member_role_name 'ExternalAudit');
CREATE USER MAPPING FOR CURRENT_USER SERVER org_external
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE FOREIGN TABLE external_trails (sp_connection_name text, name text)
  SERVER org_external OPTIONS (table 'alicloud_action_trail');
SELECT * FROM regress_try('SELECT count(*) FROM external_trails');
ALTER SERVER org_external OPTIONS (ADD member_external_id 'not-the-one');
SELECT * FROM regress_try('SELECT count(*) FROM external_trails');
ALTER SERVER org_external OPTIONS (SET member_external_id 'acme-audit-7f3a');
SELECT sp_connection_name, name FROM external_trails;
ALTER SERVER org_external OPTIONS (SET member_external_id 'x');
DROP SERVER org_external CASCADE;
-- member_servers: other servers of the wrapper, by name or pattern, matched at every scan. Each
-- member scans with its own options and the current user's mapping for it; the server with the
-- members needs no user mapping of its own.
CREATE SERVER acct_main FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou,cn-beijing', endpoint :'endpoint', sts_endpoint :'mock',
           retry_base_delay_ms '20');
CREATE USER MAPPING FOR CURRENT_USER SERVER acct_main
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE SERVER acct_second FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint :'endpoint', sts_endpoint :'mock',
           retry_base_delay_ms '20');
CREATE USER MAPPING FOR CURRENT_USER SERVER acct_second
  OPTIONS (access_key_id 'LTAI5tMockAccessKey0002', access_key_secret 'MockSecret2ndAccount0123456789ab');
CREATE SERVER fleet FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (member_servers 'acct_*');
CREATE FOREIGN TABLE fleet_trails (sp_connection_name text, account_id text, region text,
                                   name text, is_shadow_trail boolean)
  SERVER fleet OPTIONS (table 'alicloud_action_trail');
-- Each member's account id is learned once (GetCallerIdentity), then its regions are listed.
\! mock-admin reset-calls
SELECT sp_connection_name, account_id, region, name FROM fleet_trails
 WHERE NOT is_shadow_trail ORDER BY 1, 3, 4;
\! mock-admin calls | cut -d' ' -f1-2 | sort | uniq -c
-- The account ids are known from then on: the next scan lists, and nothing else.
\! mock-admin reset-calls
SELECT count(*) FROM fleet_trails;
\! mock-admin calls | cut -d' ' -f1 | sort | uniq -c
-- sp_connection_name and account_id choose the members before any listing.
\! mock-admin reset-calls
SELECT DISTINCT sp_connection_name FROM fleet_trails WHERE sp_connection_name = 'acct_second';
SELECT DISTINCT sp_connection_name FROM fleet_trails WHERE account_id = '1234567890123456';
\! mock-admin calls | cut -d' ' -f1-2 | sort | uniq -c
EXPLAIN (COSTS OFF) SELECT name FROM fleet_trails WHERE sp_connection_name LIKE '%second';
-- A server created later joins with no change to fleet. This one reaches the same account as
-- acct_main (another key of it): a WARNING, and its rows are not repeated.
CREATE SERVER acct_zz FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint :'endpoint', sts_endpoint :'mock');
CREATE USER MAPPING FOR CURRENT_USER SERVER acct_zz
  OPTIONS (access_key_id 'LTAI5tMockNoPermission01', access_key_secret 'MockSecretNoPermission0123456789');
SELECT sp_connection_name, count(*) FROM fleet_trails GROUP BY 1 ORDER BY 1;
DROP SERVER acct_zz CASCADE;
-- Another key of acct_main's account first by name, one that may not list trails: acct_main is
-- scanned in its place. The twin's failure is not the query's error: it is a WARNING (which
-- carries the API's request id, new each time, so hidden here) and the twin's last outcome.
CREATE SERVER acct_a_twin FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint :'endpoint', sts_endpoint :'mock');
CREATE USER MAPPING FOR CURRENT_USER SERVER acct_a_twin
  OPTIONS (access_key_id 'LTAI5tMockNoPermission01', access_key_secret 'MockSecretNoPermission0123456789');
SET client_min_messages = error;
SELECT sp_connection_name, count(*) FROM fleet_trails GROUP BY 1 ORDER BY 1;
RESET client_min_messages;
SELECT sp_connection_name, account_id, status FROM alicloud_fdw_scan_accounts() ORDER BY 1;
SELECT member, errors, last_error_code, regress_mask(last_request_id) AS last_request_id
  FROM alicloud_fdw_stats WHERE server = 'fleet' AND member = 'acct_a_twin' AND action = 'member scan';
DROP SERVER acct_a_twin CASCADE;
-- The aggregate's ignore_error_codes apply to every member.
\! mock-admin fault cn-beijing '{"error_code":"ServiceUnavailable","error_status":503}'
SELECT * FROM regress_try('SELECT count(*) FROM fleet_trails');
ALTER SERVER fleet OPTIONS (ADD ignore_error_codes 'ServiceUnavailable');
SET client_min_messages = error;
SELECT sp_connection_name, count(*) FROM fleet_trails GROUP BY 1 ORDER BY 1;
RESET client_min_messages;
\! mock-admin clear-faults
ALTER SERVER fleet OPTIONS (DROP ignore_error_codes);
-- One member's key revoked: the query fails, naming that member; under member_failure 'skip' the
-- other member's rows come back, and the member's last outcome stays in the statistics.
\! mock-admin revoke-key LTAI5tMockAccessKey0002
SELECT * FROM regress_try('SELECT count(*) FROM fleet_trails');
ALTER SERVER fleet OPTIONS (ADD member_failure 'skip');
SET client_min_messages = error;
SELECT sp_connection_name, count(*) FROM fleet_trails GROUP BY 1 ORDER BY 1;
RESET client_min_messages;
SELECT member, last_ok_at IS NOT NULL AS succeeded_once, last_error_at > last_ok_at AS failed_last,
       last_error_code
  FROM alicloud_fdw_stats WHERE server = 'fleet' AND action = 'member scan' ORDER BY 1;
ALTER SERVER fleet OPTIONS (DROP member_failure);
\! mock-admin restore-key LTAI5tMockAccessKey0002
-- A pattern matches only servers with fleet's owner: a server another role creates does not join
-- by fitting it (it would add its rows to fleet's, or make every scan of fleet fail); a name
-- given whole matches whoever owns the server.
CREATE ROLE fleet_planter;
GRANT USAGE ON FOREIGN DATA WRAPPER alicloud_fdw TO fleet_planter;
SET ROLE fleet_planter;
CREATE SERVER acct_planted FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (regions 'cn-hangzhou');
RESET ROLE;
SELECT DISTINCT sp_connection_name FROM fleet_trails ORDER BY 1;
ALTER SERVER fleet OPTIONS (SET member_servers 'acct_*, acct_planted');
EXPLAIN (COSTS OFF) SELECT name FROM fleet_trails;
ALTER SERVER fleet OPTIONS (SET member_servers 'acct_*');
DROP SERVER acct_planted;
REVOKE USAGE ON FOREIGN DATA WRAPPER alicloud_fdw FROM fleet_planter;
DROP ROLE fleet_planter;
-- A role scans each member under exactly the rules of a direct scan: without USAGE on a member,
-- or without keys in its mapping for one, that member fails, named.
CREATE ROLE fleet_auditor;
GRANT USAGE ON FOREIGN SERVER fleet, acct_main TO fleet_auditor;
GRANT SELECT ON fleet_trails TO fleet_auditor;
CREATE USER MAPPING FOR fleet_auditor SERVER acct_main
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
SET ROLE fleet_auditor;
SELECT * FROM regress_try('SELECT count(*) FROM fleet_trails');
-- The statistics show a member server's rows only to the roles that may use it; those of
-- acct_zz and acct_a_twin, dropped since, only to superusers.
SELECT DISTINCT member FROM alicloud_fdw_stats WHERE server = 'fleet' ORDER BY 1;
RESET ROLE;
SELECT DISTINCT member FROM alicloud_fdw_stats WHERE server = 'fleet' ORDER BY 1;
ALTER SERVER fleet OPTIONS (ADD member_failure 'skip');
GRANT USAGE ON FOREIGN SERVER acct_second TO fleet_auditor;
CREATE USER MAPPING FOR fleet_auditor SERVER acct_second;
SET ROLE fleet_auditor;
SELECT sp_connection_name, count(*) FROM fleet_trails GROUP BY 1 ORDER BY 1;
RESET ROLE;
-- A name or pattern that matches no server is an error with a hint; members do not nest.
ALTER SERVER fleet OPTIONS (SET member_servers 'acct_main, audit_*');
SELECT * FROM regress_try('SELECT count(*) FROM fleet_trails');
CREATE SERVER fleet_of_fleets FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (member_servers 'fleet');
CREATE FOREIGN TABLE fleets_trails (name text) SERVER fleet_of_fleets
  OPTIONS (table 'alicloud_action_trail');
SELECT * FROM regress_try('SELECT count(*) FROM fleets_trails');
-- member_servers goes with no role member options.
ALTER SERVER fleet OPTIONS (ADD member_role_name 'ActionTrailAudit');
DROP SERVER fleet_of_fleets CASCADE;
DROP SERVER fleet CASCADE;
DROP SERVER acct_main, acct_second CASCADE;
DROP ROLE fleet_auditor;
