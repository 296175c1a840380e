-- Every option is checked when it is set: CREATE/ALTER SERVER, USER MAPPING, FOREIGN TABLE.
-- Unknown option names list the valid ones.
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (regoins 'cn-hangzhou');
-- Malformed region ids, numbers, endpoints, code lists.
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (regions 'cn_hangzhou');
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (regions 'cn-hangzhou,CN-BEIJING');
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (regions ' , ');
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (timeout_ms 'soon');
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (max_attempts '0');
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (max_concurrency '1001');
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (connect_timeout_ms '-5');
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (endpoint 'actiontrail.{region}.aliyuncs.com');
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (endpoint 'https://{zone}.example.com');
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (ignore_error_codes 'Forbidden RAM');
-- A secret in SERVER options, where anyone with USAGE could read it, is refused (and not echoed).
CREATE SERVER bad FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (access_key_secret 'do-not-store-me');
ALTER SERVER alicloud OPTIONS (ADD security_token 'do-not-store-me');
ALTER SERVER alicloud OPTIONS (ADD access_key_id 'LTAI5tSomething');
-- Good values pass; ALTER is checked like CREATE.
CREATE SERVER good FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions '*', endpoint 'https://actiontrail-vpc.{region}.aliyuncs.com', timeout_ms '2000',
           connect_timeout_ms '500', max_attempts '5', max_concurrency '28', deadline_ms '30000',
           ignore_error_codes 'Forbidden.RAM,NoPermission');
ALTER SERVER good OPTIONS (SET max_attempts 'many');
ALTER SERVER good OPTIONS (SET max_attempts '2');
-- User mappings.
CREATE USER MAPPING FOR PUBLIC SERVER good OPTIONS (access_key_id 'LTAI5tSomething');
CREATE USER MAPPING FOR PUBLIC SERVER good OPTIONS (access_key_secret 'do-not-store-me');
CREATE USER MAPPING FOR PUBLIC SERVER good OPTIONS (security_token 'do-not-store-me');
CREATE USER MAPPING FOR PUBLIC SERVER good
  OPTIONS (profile 'default', access_key_id 'LTAI5tSomething', access_key_secret 'do-not-store-me');
CREATE USER MAPPING FOR PUBLIC SERVER good OPTIONS (regions 'cn-hangzhou');
CREATE USER MAPPING FOR PUBLIC SERVER good OPTIONS (password 'do-not-store-me');
CREATE USER MAPPING FOR PUBLIC SERVER good OPTIONS (role_session_name 'audit');
CREATE USER MAPPING FOR PUBLIC SERVER good OPTIONS (profile 'prod', role_arn 'acs:ram::1:role/x');
DROP SERVER good CASCADE;
-- A foreign table takes one option, the table it scans (as postgres_fdw's table_name): checked
-- when it is set.
CREATE FOREIGN TABLE t_bad_option (name text) SERVER alicloud OPTIONS (object 'trails');
CREATE FOREIGN TABLE t_bad_table (name text) SERVER alicloud OPTIONS (table 'alicloud_trails');
CREATE FOREIGN TABLE trails_by_option (name text, region text) SERVER alicloud
  OPTIONS (table 'alicloud_action_trail');
SELECT name FROM trails_by_option WHERE region = 'cn-shanghai' ORDER BY name;
DROP FOREIGN TABLE trails_by_option;
-- A table made by hand may hold any subset of the columns, matched by name, in any order.
CREATE FOREIGN TABLE my_trails (status text, name text, region text) SERVER alicloud;
SELECT * FROM my_trails WHERE region = 'cn-beijing' ORDER BY name;
-- A column the table does not know is an error naming it.
CREATE FOREIGN TABLE t_unknown (name text, colour text) SERVER alicloud;
SELECT name FROM t_unknown;
-- So is a known column declared with another type.
CREATE FOREIGN TABLE t_type (name text, create_time text) SERVER alicloud;
SELECT name FROM t_type;
DROP FOREIGN TABLE my_trails, t_unknown, t_type;
