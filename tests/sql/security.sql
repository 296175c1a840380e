-- Who may use which credentials and endpoints (docs/configuration.md, "Security"). As in
-- postgres_fdw, a role that is not a superuser must bring its own keys: the database server's own
-- credentials (here a CLI profile file in its OS user's home, holding the key of another account,
-- whose one trail is other-account-trail) are for superusers, or for mappings a superuser marks.
\getenv mock_port MOCK_PORT
\getenv key_id MOCK_KEY_ID
\getenv key_secret MOCK_KEY_SECRET
\getenv server_home SERVER_HOME
\set endpoint 'http://127.0.0.1:' :mock_port '/{region}'
\set mock 'http://127.0.0.1:' :mock_port
\set profile_path :server_home '/.aliyun/config.json'
COPY (SELECT '{"current":"server","profiles":[{"name":"server","mode":"AK","access_key_id":"LTAI5tMockAccessKey0002","access_key_secret":"MockSecret2ndAccount0123456789ab","region_id":"cn-hangzhou"}]}') TO :'profile_path';
CREATE SERVER shared_srv FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint :'endpoint', sts_endpoint :'mock');
CREATE FOREIGN TABLE shared_trails (name text, region text) SERVER shared_srv;
GRANT SELECT ON shared_trails TO PUBLIC;
-- A superuser without a user mapping signs with the server's own credentials.
SELECT name FROM shared_trails ORDER BY name;
CREATE ROLE mallory;
GRANT USAGE ON FOREIGN DATA WRAPPER alicloud_fdw TO mallory;
GRANT USAGE ON FOREIGN SERVER shared_srv TO mallory;
SET ROLE mallory;
-- Without a mapping, with an empty one, or with only a role to assume (whose base keys would be
-- the server's): refused before any call.
\! mock-admin reset-calls
SELECT name FROM shared_trails;
CREATE USER MAPPING FOR mallory SERVER shared_srv;
SELECT name FROM shared_trails;
ALTER USER MAPPING FOR mallory SERVER shared_srv
  OPTIONS (ADD role_arn 'acs:ram::1234567890123456:role/auditor');
SELECT name FROM shared_trails;
\! mock-admin calls
-- Nor may it point requests, signed with its keys or anyone's, at a host of its choosing (the
-- answer to a signed AssumeRole is a role's temporary keys), nor lend itself the server's
-- credentials.
CREATE SERVER evil FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (endpoint 'http://127.0.0.1:9/{region}');
CREATE SERVER evil FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (sts_endpoint 'http://127.0.0.1:9');
CREATE SERVER evil FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (ecs_metadata_endpoint 'http://127.0.0.1:9');
ALTER USER MAPPING FOR mallory SERVER shared_srv OPTIONS (ADD use_server_credentials 'true');
-- The safe choice of endpoints, Alibaba Cloud's own VPC endpoints, is open to everyone.
CREATE SERVER in_vpc FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint_type 'vpc');
DROP SERVER in_vpc;
-- With keys of its own, it works.
ALTER USER MAPPING FOR mallory SERVER shared_srv
  OPTIONS (DROP role_arn, ADD access_key_id :'key_id', ADD access_key_secret :'key_secret');
SELECT name FROM shared_trails ORDER BY name;
RESET ROLE;
-- A superuser may lend the server's credentials to one role explicitly; the role may give that up
-- but not take it back.
DROP USER MAPPING FOR mallory SERVER shared_srv;
CREATE USER MAPPING FOR mallory SERVER shared_srv OPTIONS (use_server_credentials 'true');
SET ROLE mallory;
SELECT name FROM shared_trails ORDER BY name;
ALTER USER MAPPING FOR mallory SERVER shared_srv OPTIONS (SET use_server_credentials 'false');
SELECT name FROM shared_trails;
ALTER USER MAPPING FOR mallory SERVER shared_srv OPTIONS (SET use_server_credentials 'true');
RESET ROLE;
-- In a view, the view owner's mapping applies (a superuser's view, here), as for any foreign table.
CREATE VIEW owner_trails AS SELECT name FROM shared_trails;
GRANT SELECT ON owner_trails TO mallory;
SET ROLE mallory;
SELECT name FROM owner_trails ORDER BY name;
RESET ROLE;
DROP VIEW owner_trails;
COPY (SELECT '{}') TO :'profile_path';
DROP SERVER shared_srv CASCADE;
REVOKE USAGE ON FOREIGN DATA WRAPPER alicloud_fdw FROM mallory;
DROP ROLE mallory;
