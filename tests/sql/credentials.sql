-- Credentials: user mappings, wrong and missing ones, STS role assumption, a CLI profile file.
-- No secret may appear in any output (scripts/test.sh also greps these results and the server log).
\getenv mock_port MOCK_PORT
\getenv key_id MOCK_KEY_ID
\getenv key_secret MOCK_KEY_SECRET
\set endpoint 'http://127.0.0.1:' :mock_port '/{region}'
\set mock 'http://127.0.0.1:' :mock_port
CREATE SERVER creds FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint :'endpoint', sts_endpoint :'mock');
CREATE FOREIGN TABLE creds_trails (name text, region text, account_id text) SERVER creds;
-- A wrong secret: the API's SignatureDoesNotMatch, with a hint, and no secret in sight.
CREATE USER MAPPING FOR CURRENT_USER SERVER creds
  OPTIONS (access_key_id :'key_id', access_key_secret 'wrong-secret-0123456789');
SELECT regress_try('SELECT name FROM creds_trails');
-- An unknown key id.
ALTER USER MAPPING FOR CURRENT_USER SERVER creds
  OPTIONS (SET access_key_id 'LTAI5tNoSuchKey000000', SET access_key_secret 'wrong-secret-0123456789');
SELECT regress_try('SELECT name FROM creds_trails');
-- A RAM user without permission: Forbidden.RAM, with the policy to grant in the hint.
ALTER USER MAPPING FOR CURRENT_USER SERVER creds
  OPTIONS (SET access_key_id 'LTAI5tMockNoPermission01', SET access_key_secret 'MockSecretNoPermission0123456789');
SELECT regress_try('SELECT name FROM creds_trails');
-- No user mapping: the provider chain runs as the server's OS user, which has no credentials here.
DROP USER MAPPING FOR CURRENT_USER SERVER creds;
SELECT name FROM creds_trails;
-- A RAM role assumed with the mapping's keys (STS AssumeRole), then used for the calls.
CREATE USER MAPPING FOR CURRENT_USER SERVER creds
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret',
           role_arn 'acs:ram::1234567890123456:role/auditor', role_session_name 'regress');
\! mock-admin reset-calls
SELECT name, account_id FROM creds_trails ORDER BY name;
SELECT count(*) FROM creds_trails;
-- AssumeRole once (credentials reused), GetCallerIdentity once.
\! mock-admin calls
-- A role the account may not assume.
ALTER USER MAPPING FOR CURRENT_USER SERVER creds
  OPTIONS (SET role_arn 'acs:ram::1234567890123456:role/nonexistent');
SELECT regress_try('SELECT name FROM creds_trails');
-- A CLI profile file (written by the server, so readable by its OS user).
COPY (SELECT format('{"current":"regress","profiles":[{"name":"regress","mode":"AK","access_key_id":"%s","access_key_secret":"%s","region_id":"cn-hangzhou"}]}',
                    :'key_id', :'key_secret'))
  TO '/tmp/alicloud_fdw_regress_profile.json';
DROP USER MAPPING FOR CURRENT_USER SERVER creds;
CREATE USER MAPPING FOR CURRENT_USER SERVER creds
  OPTIONS (profile 'regress', profile_file '/tmp/alicloud_fdw_regress_profile.json');
SELECT name FROM creds_trails ORDER BY name;
ALTER USER MAPPING FOR CURRENT_USER SERVER creds OPTIONS (SET profile 'missing');
SELECT name FROM creds_trails;
-- PUBLIC mappings apply to every user.
DROP USER MAPPING FOR CURRENT_USER SERVER creds;
CREATE USER MAPPING FOR PUBLIC SERVER creds
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
SELECT count(*) FROM creds_trails;
-- The user mapping's secrets are not shown to a role that may use the server.
CREATE ROLE trail_reader;
GRANT USAGE ON FOREIGN SERVER creds TO trail_reader;
SET ROLE trail_reader;
SELECT srvname, umoptions FROM pg_user_mappings WHERE srvname = 'creds';
-- Nor may such a role point a mapping at the server's own profile files.
CREATE USER MAPPING FOR trail_reader SERVER creds OPTIONS (profile 'default');
CREATE USER MAPPING FOR trail_reader SERVER creds OPTIONS (profile_file '/var/lib/postgresql/.aliyun/config.json');
RESET ROLE;
DROP SERVER creds CASCADE;
DROP ROLE trail_reader;
