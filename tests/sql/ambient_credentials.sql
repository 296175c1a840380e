-- The database server's own (ambient) credentials, in a cluster whose environment holds the keys of
-- another account (whose one trail is other-account-trail). A superuser without a mapping signs
-- with them, as documented; a mapping whose credential source a superuser chose (a profile file, a
-- profile) uses that source alone and never falls through to them.
\getenv mock_port MOCK_PORT
\getenv key_id MOCK_KEY_ID
\getenv key_secret MOCK_KEY_SECRET
\set endpoint 'http://127.0.0.1:' :mock_port '/{region}'
\set mock 'http://127.0.0.1:' :mock_port
CREATE SERVER ambient FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint :'endpoint', sts_endpoint :'mock');
CREATE FOREIGN TABLE ambient_trails (name text, region text) SERVER ambient;
GRANT SELECT ON ambient_trails TO PUBLIC;
SELECT name FROM ambient_trails ORDER BY name;
CREATE ROLE dora;
GRANT USAGE ON FOREIGN SERVER ambient TO dora;
-- A profile file that does not exist: the scan fails and names it.
CREATE USER MAPPING FOR dora SERVER ambient
  OPTIONS (profile_file '/tmp/alicloud_fdw_regress_no_such_profile.json');
\! mock-admin reset-calls
SET ROLE dora;
SELECT name FROM ambient_trails ORDER BY name;
RESET ROLE;
-- A file that names no profile: the same.
COPY (SELECT '{"profiles":[]}') TO '/tmp/alicloud_fdw_regress_ambient.json';
ALTER USER MAPPING FOR dora SERVER ambient
  OPTIONS (SET profile_file '/tmp/alicloud_fdw_regress_ambient.json');
SET ROLE dora;
SELECT name FROM ambient_trails ORDER BY name;
RESET ROLE;
\! mock-admin calls
-- A file with a profile: its keys (the default account's, with test-4) are used.
COPY (SELECT format('{"current":"audit","profiles":[{"name":"audit","mode":"AK","access_key_id":"%s","access_key_secret":"%s"}]}',
                    :'key_id', :'key_secret'))
  TO '/tmp/alicloud_fdw_regress_ambient.json';
SET ROLE dora;
SELECT name FROM ambient_trails ORDER BY name;
RESET ROLE;
-- A named profile the file lacks: an error, never the environment.
ALTER USER MAPPING FOR dora SERVER ambient OPTIONS (ADD profile 'missing');
SET ROLE dora;
SELECT name FROM ambient_trails ORDER BY name;
RESET ROLE;
COPY (SELECT '{}') TO '/tmp/alicloud_fdw_regress_ambient.json';
DROP SERVER ambient CASCADE;
DROP ROLE dora;
