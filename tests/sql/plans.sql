-- Plans executed again and again: prepared statements (custom plans, then the generic plan),
-- PL/pgSQL, cursors. A plan holds data only, never a pointer into executor memory, so none of
-- these may crash the server (scripts/test.sh also checks the server log for crashes). Pushdown
-- still works in every form, as the mock's call log shows.
SET alicloud_fdw.cache = off;
-- Without parameters: ten executions, each calls every region once.
PREPARE every_trail AS SELECT count(*) FROM alicloud_action_trail;
\! mock-admin reset-calls
EXECUTE every_trail;
EXECUTE every_trail;
EXECUTE every_trail;
EXECUTE every_trail;
EXECUTE every_trail;
EXECUTE every_trail;
EXECUTE every_trail;
EXECUTE every_trail;
EXECUTE every_trail;
EXECUTE every_trail;
\! mock-admin calls | sort | uniq -c
DEALLOCATE every_trail;
-- With parameters, past the fifth execution (when PostgreSQL switches to the generic plan): the
-- parameter still chooses the one region called, and the NameList sent.
PREPARE by_region(text, text) AS
  SELECT name FROM alicloud_action_trail WHERE region = $1 AND name = $2;
\! mock-admin reset-calls
EXECUTE by_region('cn-beijing', 'test-4');
EXECUTE by_region('cn-beijing', 'test-4');
EXECUTE by_region('cn-beijing', 'test-4');
EXECUTE by_region('cn-beijing', 'test-4');
EXECUTE by_region('cn-beijing', 'test-4');
EXECUTE by_region('cn-beijing', 'test-4');
EXECUTE by_region('cn-beijing', 'test-4');
EXECUTE by_region('cn-shanghai', 'org-audit-shanghai');
EXECUTE by_region('cn-shanghai', 'org-audit-shanghai');
EXECUTE by_region('cn-shenzhen', 'test-4');
\! mock-admin calls | sort | uniq -c
EXPLAIN (COSTS OFF) EXECUTE by_region('cn-beijing', 'test-4');
DEALLOCATE by_region;
-- The generic plan from the start.
SET plan_cache_mode = force_generic_plan;
PREPARE in_regions(text[]) AS
  SELECT region, count(*) FROM alicloud_action_trail WHERE region = ANY ($1) GROUP BY region ORDER BY region;
\! mock-admin reset-calls
EXECUTE in_regions(ARRAY['cn-hangzhou', 'cn-shenzhen']);
EXECUTE in_regions(ARRAY['cn-hangzhou', 'cn-shenzhen']);
EXECUTE in_regions(NULL);
EXECUTE in_regions(ARRAY['us-east-1']);
\! mock-admin calls | sort | uniq -c
EXPLAIN (COSTS OFF) EXECUTE in_regions(ARRAY['cn-hangzhou']);
DEALLOCATE in_regions;
RESET plan_cache_mode;
-- A PL/pgSQL function with static SQL (its plans are cached for the session), called 10 times.
CREATE FUNCTION trails_in(r text) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT count(*) FROM alicloud_action_trail WHERE region = r);
END $$;
\! mock-admin reset-calls
SELECT i, trails_in(CASE WHEN i % 2 = 0 THEN 'cn-beijing' ELSE 'cn-hangzhou' END)
  FROM generate_series(1, 10) i;
\! mock-admin calls | sort | uniq -c
DROP FUNCTION trails_in(text);
-- A cursor, read in steps, moved back, read again, across statements of one transaction.
BEGIN;
DECLARE c SCROLL CURSOR FOR
  SELECT name, region FROM alicloud_action_trail WHERE region = 'cn-shanghai' ORDER BY name;
FETCH 2 FROM c;
FETCH 1 FROM c;
FETCH ABSOLUTE 1 FROM c;
FETCH ALL FROM c;
CLOSE c;
COMMIT;
-- Whole-row references fetch every column.
SELECT row_to_json(t) ->> 'name' AS name, row_to_json(t) ->> 'trail_region' AS trail_region,
       row_to_json(t) -> 'raw' ->> 'Status' AS raw_status
  FROM alicloud_action_trail t WHERE region = 'cn-beijing' ORDER BY 1;
SELECT count(*) FILTER (WHERE t IS NULL) AS all_null, count(*) FILTER (WHERE NOT (t IS NULL)) AS not_all_null
  FROM alicloud_action_trail t;
-- The same rows in a heap table give the same answers to the same whole-row tests.
CREATE TEMP TABLE trail_copy AS SELECT * FROM alicloud_action_trail;
SELECT (SELECT count(*) FROM alicloud_action_trail t WHERE t IS NOT NULL) AS foreign_not_null,
       (SELECT count(*) FROM trail_copy t WHERE t IS NOT NULL) AS heap_not_null,
       (SELECT count(*) FROM alicloud_action_trail t WHERE NOT (t IS NULL)) AS foreign_rows,
       (SELECT count(*) FROM trail_copy) AS heap_rows;
SELECT (SELECT array_agg(t::text ORDER BY t::text) FROM alicloud_action_trail t)
     = (SELECT array_agg(t::text ORDER BY t::text) FROM trail_copy t) AS same_rows;
DROP TABLE trail_copy;
-- A whole-row reference inside a function call of a subquery.
SELECT count(DISTINCT to_jsonb(t)) AS distinct_rows FROM alicloud_action_trail t;
