-- The compliance controls (schema alicloud_compliance) over an organization of four member
-- accounts, with trails built to make each control pass, alarm and error; then the scheduled
-- run's history under faults, and the changes between two runs. The mock's trails are changed
-- with `mock-admin trail` (and put back at the end).
\getenv mock_port MOCK_PORT
\getenv key_id MOCK_KEY_ID
\getenv key_secret MOCK_KEY_SECRET
\set endpoint 'http://127.0.0.1:' :mock_port '/{region}'
\set mock 'http://127.0.0.1:' :mock_port
\getenv pghost PGHOST
\getenv pgport PGPORT
\set conn 'dbname=alicloud_fdw_regress host=' :pghost ' port=' :pgport ' user=postgres'
\! mock-admin clear-faults
-- 1111: acme-prod-trail logs every region but its OSS bucket is '' in the answer (NULL here),
--       and prod-complete qualifies for everything but the multi-account control;
-- 2222: acme-dev-trail is stopped and records one region, dev-fresh was never started;
-- 3333: no trail of its own (acme-audit-trail deleted): covered only by the directory's
--       multi-account trail of the management account, made to record every region;
-- 4444: its role does not trust the caller, so its trails cannot be read.
\! mock-admin trail 1111111111111111 acme-prod-trail '{"OssBucketName": "", "SlsProjectArn": "acs:log:cn-hangzhou:1111111111111111:project/prod-audit", "TrailArn": "acs:actiontrail:cn-hangzhou:1111111111111111:actiontrail/acme-prod-trail"}'
\! mock-admin trail 1111111111111111 prod-complete '{"HomeRegion": "cn-beijing", "TrailRegion": "All", "Status": "Enable", "EventRW": "All", "IsOrganizationTrail": false, "OssBucketName": "prod-complete-logs", "OssBucketLocation": "oss-cn-beijing", "SlsProjectArn": "acs:log:cn-beijing:1111111111111111:project/prod-complete", "TrailArn": "acs:actiontrail:cn-beijing:1111111111111111:actiontrail/prod-complete", "CreateTime": 1700000000000, "UpdateTime": 1700000000000}'
\! mock-admin trail 2222222222222222 dev-fresh '{"HomeRegion": "cn-hangzhou", "TrailRegion": "All", "Status": "Fresh", "EventRW": "All", "OssBucketName": "dev-fresh-logs", "SlsProjectArn": "acs:log:cn-hangzhou:2222222222222222:project/dev", "TrailArn": "acs:actiontrail:cn-hangzhou:2222222222222222:actiontrail/dev-fresh"}'
\! mock-admin delete-trail 3333333333333333 acme-audit-trail
\! mock-admin trail 1234567890123456 org-audit-shanghai '{"TrailRegion": "All"}'
CREATE SERVER comp FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou,cn-beijing,cn-shanghai', endpoint :'endpoint', sts_endpoint :'mock',
           retry_base_delay_ms '20', max_attempts '2',
           member_accounts '1111111111111111,2222222222222222,3333333333333333,4444444444444444',
           member_role_name 'ActionTrailAudit', member_failure 'skip');
CREATE USER MAPPING FOR CURRENT_USER SERVER comp
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE SCHEMA comp;
-- The scan's WARNING about the skipped member 4444 carries a new request id each time; the
-- controls report the same failure as rows (request ids masked).
SET client_min_messages = error;
IMPORT FOREIGN SCHEMA alicloud LIMIT TO (alicloud_action_trail) FROM SERVER comp INTO comp;
SELECT control_id, title, reference FROM alicloud_compliance.control ORDER BY 1;
-- Every control, one scan. 4444 is skipped by the scan, and is an error in every
-- control all the same; 3333 is ok where the multi-account trail counts, and alarms where it
-- must have its own trail; each trail once, at its home region.
SELECT control_id, status, account_id, region, resource, regress_mask(reason) AS reason
  FROM alicloud_compliance.controls('comp.alicloud_action_trail');
-- The accounts that scan covered, as the controls read them: this role's own (and a
-- superuser's); another role sees none of them.
SELECT sp_connection_name, account_id, status, error_code, error_region
  FROM alicloud_fdw_scan_accounts() ORDER BY 1;
CREATE ROLE compliance_other;
SET ROLE compliance_other;
SELECT count(*) FROM alicloud_fdw_scan_accounts();
RESET ROLE;
DROP ROLE compliance_other;
-- The empty OSS bucket of the API is NULL, never '' (and CIS 2.1 alarmed on it above).
SELECT name, oss_bucket_name IS NULL AS bucket_is_null, sls_project_arn
  FROM comp.alicloud_action_trail WHERE name = 'acme-prod-trail' AND region = home_region;
-- What a script branches on: 2, because 4444 could not be read.
SELECT * FROM alicloud_compliance.summary('comp.alicloud_action_trail');
-- One control, for some accounts only: the account filter is pushed down (one account's three
-- regions are called, no other member's), also through a prepared statement past the
-- generic-plan threshold.
\! mock-admin reset-calls
SELECT control_id, status, account_id, resource
  FROM alicloud_compliance.actiontrail_enabled('comp.alicloud_action_trail', ARRAY['2222222222222222']);
\! mock-admin calls | cut -d' ' -f1-2 | sort | uniq -c
PREPARE enabled(text[]) AS
  SELECT status, count(*) FROM alicloud_compliance.actiontrail_enabled('comp.alicloud_action_trail', $1)
  GROUP BY 1 ORDER BY 1;
EXECUTE enabled(ARRAY['1111111111111111']);
EXECUTE enabled(ARRAY['1111111111111111']);
EXECUTE enabled(ARRAY['1111111111111111']);
EXECUTE enabled(ARRAY['1111111111111111']);
EXECUTE enabled(ARRAY['1111111111111111']);
\! mock-admin reset-calls
EXECUTE enabled(ARRAY['3333333333333333']);
\! mock-admin calls | cut -d' ' -f1-2 | sort | uniq -c
DEALLOCATE enabled;
-- skip is only what the user asked to skip.
SELECT control_id, status, count(*) FROM alicloud_compliance.controls('comp.alicloud_action_trail',
    ARRAY['1111111111111111'], skip => ARRAY['cis_2_2'])
  GROUP BY 1, 2 ORDER BY 1, 2;
-- Under member_failure 'error' the query fails as a whole: every account is an error (the ones
-- read too, since the failure lost their rows), never "no trail".
ALTER SERVER comp OPTIONS (SET member_failure 'error');
SELECT control_id, status, account_id, regress_mask(reason) AS reason
  FROM alicloud_compliance.controls('comp.alicloud_action_trail')
  WHERE control_id = 'actiontrail_enabled';
ALTER SERVER comp OPTIONS (SET member_failure 'skip');
-- A plain server: the one account of its credentials; without any trail, an alarm in each
-- control that needs one.
\! mock-admin delete-trail 6543210987654321 other-account-trail
CREATE SERVER solo FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou,cn-beijing', endpoint :'endpoint', sts_endpoint :'mock',
           retry_base_delay_ms '20');
CREATE USER MAPPING FOR CURRENT_USER SERVER solo
  OPTIONS (access_key_id 'LTAI5tMockAccessKey0002', access_key_secret 'MockSecret2ndAccount0123456789ab');
CREATE FOREIGN TABLE solo_trails (name text, home_region text, region text, trail_region text,
    status text, event_rw text, is_organization_trail boolean, organization_id text,
    oss_bucket_name text, oss_bucket_location text, sls_project_arn text, trail_arn text,
    create_time timestamptz, update_time timestamptz, start_logging_time timestamptz,
    stop_logging_time timestamptz, account_id text, sp_connection_name text)
  SERVER solo OPTIONS (table 'alicloud_action_trail');
SELECT control_id, status, account_id, resource, reason
  FROM alicloud_compliance.controls('solo_trails');
-- Its key revoked: an error with the API's code and request id, not an account without trails.
\! mock-admin revoke-key LTAI5tMockAccessKey0002
SELECT control_id, status, account_id, sp_connection_name, regress_mask(reason) AS reason
  FROM alicloud_compliance.controls('solo_trails') WHERE control_id = 'actiontrail_enabled';
\! mock-admin restore-key LTAI5tMockAccessKey0002
-- A scan that fails before it reaches an account (no user mapping): one error row per control.
DROP USER MAPPING FOR CURRENT_USER SERVER solo;
-- (The reason goes on with what the credential chain looked at, which the earlier tests change.)
SELECT control_id, status, account_id, sp_connection_name, split_part(reason, ' Looked at', 1) AS reason
  FROM alicloud_compliance.controls('solo_trails') WHERE control_id = 'cis_2_1';
-- A table that is no foreign table of the wrapper is a usage error.
SELECT * FROM regress_try($$SELECT * FROM alicloud_compliance.controls('pg_class')$$);

-- The scheduled run, called directly: every step is recorded, and a failure is error rows.
CALL alicloud_compliance.run('comp.alicloud_action_trail');
-- Throttling that outlasts the retries in one region: every member fails there, so every
-- account is an error; the run is recorded all the same.
\! mock-admin fault cn-shanghai '{"error_code": "Throttling.User"}'
CALL alicloud_compliance.run('comp.alicloud_action_trail');
\! mock-admin clear-faults
-- A region that never answers, stopped by statement_timeout: the run records the cancel and the
-- history keeps it (the procedure catches the cancel of its scan, and only of its scan).
\! mock-admin fault cn-beijing '{"hang": true}'
SET statement_timeout = '1s';
CALL alicloud_compliance.run('comp.alicloud_action_trail');
RESET statement_timeout;
\! mock-admin clear-faults
-- 2222's dev-fresh starts logging; then, between the next two runs, prod-complete is stopped and
-- loses its SLS destination, dev-fresh records writes only, and acme-dev-trail is deleted.
\! mock-admin trail 2222222222222222 dev-fresh '{"Status": "Enable"}'
CALL alicloud_compliance.run('comp.alicloud_action_trail');
\! mock-admin trail 1111111111111111 prod-complete '{"Status": "Disable", "SlsProjectArn": null, "StopLoggingTime": 1764979200000}'
\! mock-admin trail 2222222222222222 dev-fresh '{"EventRW": "Write"}'
\! mock-admin delete-trail 2222222222222222 acme-dev-trail
CALL alicloud_compliance.run('comp.alicloud_action_trail');
SELECT run_id, source, status, accounts, failed_accounts, trail_rows, alarms, errors,
       regress_mask(message) AS message, finished_at >= started_at AS finished
  FROM alicloud_compliance.run ORDER BY run_id;
SELECT run_id, sp_connection_name, status, error_code, request_id IS NOT NULL AS has_request_id
  FROM alicloud_compliance.account_history ORDER BY run_id, sp_connection_name;
SELECT run_id, status, count(*) FROM alicloud_compliance.result_history
  GROUP BY 1, 2 ORDER BY 1, 2;
-- The latest run's summary, as a monitoring script reads it.
SELECT * FROM alicloud_compliance.run_summary() WHERE control_id = 'all';
-- The changes between consecutive runs that read each account: runs 2 and 3 could not read
-- them, so run 4 is compared with run 1 (nothing reads as deleted); run 5 with run 4.
SELECT sp_connection_name, trail_name, change, before_value, after_value, previous_run_id, run_id,
       noticed_after < noticed_by AS noticed_between, stop_logging_time
  FROM alicloud_compliance.trail_changes ORDER BY run_id, sp_connection_name, trail_name, change;
-- A run of the same table while one is going records itself as skipped.
CREATE EXTENSION IF NOT EXISTS dblink;
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('alicloud_compliance.run'), hashtext('comp.alicloud_action_trail'));
SELECT * FROM dblink(:'conn', $$CALL alicloud_compliance.run('comp.alicloud_action_trail')$$)
  AS t(x text);
COMMIT;
SELECT status, message FROM alicloud_compliance.run ORDER BY run_id DESC LIMIT 1;
-- The BI recipe of docs/compliance.md: a materialized view of the latest results, refreshed
-- without blocking readers.
CREATE MATERIALIZED VIEW compliance_dashboard AS
  SELECT captured_at, control_id, status, account_id, sp_connection_name, resource, reason
  FROM alicloud_compliance.latest_results WHERE source = 'comp.alicloud_action_trail';
CREATE UNIQUE INDEX ON compliance_dashboard (control_id, sp_connection_name, resource, reason);
REFRESH MATERIALIZED VIEW CONCURRENTLY compliance_dashboard;
SELECT control_id, status, count(*), count(DISTINCT captured_at) AS captures
  FROM compliance_dashboard GROUP BY 1, 2 ORDER BY 1, 2;
DROP MATERIALIZED VIEW compliance_dashboard;
-- Old runs go, with their history.
SELECT alicloud_compliance.cleanup('0 seconds');
SELECT count(*) FROM alicloud_compliance.trail_history;

-- The fixture as it was.
\! mock-admin trail 1111111111111111 acme-prod-trail '{"OssBucketName": "acme-prod-audit-logs", "SlsProjectArn": null, "TrailArn": null}'
\! mock-admin delete-trail 1111111111111111 prod-complete
\! mock-admin delete-trail 2222222222222222 dev-fresh
\! mock-admin trail 2222222222222222 acme-dev-trail '{"HomeRegion": "cn-beijing", "TrailRegion": "cn-beijing", "Status": "Disable", "EventRW": "All", "IsOrganizationTrail": false, "CreateTime": 1700000000000, "UpdateTime": 1700000000000, "StartLoggingTime": 1700000000000, "StopLoggingTime": 0, "OssBucketName": "acme-dev-audit-logs", "OssKeyPrefix": "acme-dev", "RoleName": "aliyunactiontraildefaultrole"}'
\! mock-admin trail 3333333333333333 acme-audit-trail '{"HomeRegion": "cn-hangzhou", "TrailRegion": "All", "Status": "Enable", "EventRW": "All", "IsOrganizationTrail": false, "CreateTime": 1700000000000, "UpdateTime": 1700000000000, "StartLoggingTime": 1700000000000, "StopLoggingTime": 0, "OssBucketName": "acme-audit-audit-logs", "OssKeyPrefix": "acme-audit", "RoleName": "aliyunactiontraildefaultrole"}'
\! mock-admin trail 1234567890123456 org-audit-shanghai '{"TrailRegion": "cn-shanghai"}'
\! mock-admin trail 6543210987654321 other-account-trail '{"HomeRegion": "cn-hangzhou", "TrailRegion": "All", "Status": "Enable", "EventRW": "All", "IsOrganizationTrail": false, "CreateTime": 1700000000000, "UpdateTime": 1700000000000, "StartLoggingTime": 1700000000000, "StopLoggingTime": 0, "OssBucketName": "other-account-bucket", "OssKeyPrefix": "other", "RoleName": "aliyunactiontraildefaultrole"}'
