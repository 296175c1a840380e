-- What a user types, from the README's quick start, against the mock API.
\getenv mock_port MOCK_PORT
\getenv key_id MOCK_KEY_ID
\getenv key_secret MOCK_KEY_SECRET
\set endpoint 'http://127.0.0.1:' :mock_port '/{region}'
\set mock 'http://127.0.0.1:' :mock_port
CREATE EXTENSION alicloud_fdw;
-- The shared cache would answer a test's repeated queries without calls, and the tests prove
-- pushdown by the calls the mock receives: every later session of this database has it off.
-- tests/sql/cache.sql turns it on.
ALTER DATABASE alicloud_fdw_regress SET alicloud_fdw.cache = off;
-- For the tests only: runs a statement and reports its error (SQLSTATE, message, DETAIL, HINT) with
-- request ids, nonces and timestamps masked, so errors that carry them can have stable output.
CREATE FUNCTION regress_try(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  state text; msg text; detail text; hint text;
BEGIN
  EXECUTE query;
  RETURN NEXT 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                          detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  RETURN NEXT 'SQLSTATE ' || state;
  RETURN NEXT 'ERROR:  ' || regress_mask(msg);
  IF detail <> '' THEN RETURN NEXT 'DETAIL: ' || regress_mask(detail); END IF;
  IF hint <> '' THEN RETURN NEXT 'HINT:   ' || hint; END IF;
END $$;
CREATE FUNCTION regress_mask(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT regexp_replace(regexp_replace(regexp_replace(t,
    '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}', '<uuid>', 'g'),
    '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}%253A[0-9]{2}%253A[0-9]{2}Z', '<timestamp>', 'g'),
    'STS\.[A-Za-z0-9]{25}', 'STS.<temporary key id>', 'g')
$$;
-- For the tests only: EXPLAIN ANALYZE with what varies masked (which region is slowest, and its
-- time).
CREATE FUNCTION regress_explain_analyze(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    RETURN NEXT regexp_replace(l, 'Slowest Region: .*', 'Slowest Region: <region> (<time> ms)');
  END LOOP;
END $$;
\dew alicloud_fdw
CREATE SERVER alicloud FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou,cn-shanghai,cn-beijing,cn-shenzhen', endpoint :'endpoint',
           sts_endpoint :'mock', retry_base_delay_ms '20');
CREATE USER MAPPING FOR CURRENT_USER SERVER alicloud
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
IMPORT FOREIGN SCHEMA alicloud FROM SERVER alicloud INTO public;
\d+ alicloud_action_trail
SELECT obj_description('alicloud_action_trail'::regclass, 'pg_class');
-- LIMIT TO and EXCEPT are honoured.
CREATE SCHEMA limited;
IMPORT FOREIGN SCHEMA alicloud LIMIT TO (alicloud_action_trail) FROM SERVER alicloud INTO limited;
CREATE SCHEMA excepted;
IMPORT FOREIGN SCHEMA alicloud EXCEPT (alicloud_action_trail) FROM SERVER alicloud INTO excepted;
SELECT foreign_table_schema, foreign_table_name FROM information_schema.foreign_tables
 ORDER BY 1, 2;
-- Comments arrive on the imported copy too.
SELECT count(*) AS commented_columns FROM pg_description
 WHERE objoid = 'limited.alicloud_action_trail'::regclass AND objsubid > 0;
-- Only the remote schema "alicloud" exists.
IMPORT FOREIGN SCHEMA aws FROM SERVER alicloud INTO excepted;
DROP SCHEMA limited CASCADE;
DROP SCHEMA excepted CASCADE;
