-- Compliance controls over the trails, and their history: the schema alicloud_compliance.
-- Installed by CREATE EXTENSION alicloud_fdw (extension_sql_file! in src/lib.rs); see
-- docs/compliance.md for what each control checks and why, scheduling and history.
--
-- A control reads the trails through a foreign table of this wrapper (by default the
-- alicloud_action_trail that IMPORT FOREIGN SCHEMA creates), on a plain server (one account) or a
-- server with members (an organization). Every account the scan covered gets a row for every
-- control: the accounts and how each one's part of the scan ended come from
-- alicloud_fdw_scan_accounts(), so an account whose trails could not be read is an error, never
-- "no trail", also under member_failure 'skip'.

CREATE SCHEMA alicloud_compliance;
COMMENT ON SCHEMA alicloud_compliance IS 'alicloud_fdw compliance controls over ActionTrail trails, with their run history';

-- The controls, one row each (what docs/compliance.md explains at length).
CREATE TABLE alicloud_compliance.control (
  control_id text PRIMARY KEY,
  title text NOT NULL,
  reference text NOT NULL,
  checks text NOT NULL
);
INSERT INTO alicloud_compliance.control VALUES
  ('cis_2_1', 'ActionTrail is enabled for all regions and delivers to OSS and SLS',
   'CIS Alibaba Cloud Foundations Benchmark 2.1',
   'each trail: logging (status Enable; Fresh was never started), records every region (trail_region All), delivers to an OSS bucket and to an SLS project; an account without any trail alarms'),
  ('cis_2_2', 'The OSS bucket that receives the logs is not publicly accessible',
   'CIS Alibaba Cloud Foundations Benchmark 2.2',
   'manual: the bucket''s ACL and policy are OSS data this extension does not read; each bucket a trail delivers to is listed as info'),
  ('actiontrail_enabled', 'A trail is logging',
   'Cloud Config rule actiontrail-enabled',
   'the account has at least one trail with status Enable (its own or a multi-account trail of its directory)'),
  ('actiontrail_trail_intact_enabled', 'A logging trail records every event type in every region',
   'Cloud Config rule actiontrail-trail-intact-enabled',
   'the account has a trail with status Enable, trail_region All and event_rw All'),
  ('organization_trail', 'The account is covered by a logging multi-account trail for every region',
   'resource directory practice',
   'the account lists a multi-account trail (is_organization_trail) with status Enable and trail_region All');
COMMENT ON TABLE alicloud_compliance.control IS 'The compliance controls alicloud_compliance.controls() evaluates';

-- What a control reads of a trail row.
CREATE TYPE alicloud_compliance.trail AS (
  account_id text,
  sp_connection_name text,
  region text,
  name text,
  home_region text,
  trail_region text,
  status text,
  event_rw text,
  is_organization_trail boolean,
  organization_id text,
  oss_bucket_name text,
  oss_bucket_location text,
  sls_project_arn text,
  trail_arn text,
  create_time timestamptz,
  update_time timestamptz,
  start_logging_time timestamptz,
  stop_logging_time timestamptz
);

-- An account a scan covered, and how its part ended (alicloud_fdw_scan_accounts()).
CREATE TYPE alicloud_compliance.account AS (
  sp_connection_name text,
  account_id text,
  status text,
  error_code text,
  error_region text,
  request_id text,
  error text,
  ignored_regions text[]
);

-- One result of a control.
CREATE TYPE alicloud_compliance.result AS (
  control_id text,
  resource text,
  status text,
  reason text,
  account_id text,
  region text,
  sp_connection_name text
);

-- One scan: the trails read and the accounts covered.
CREATE TYPE alicloud_compliance.scan AS (
  source text,
  trails alicloud_compliance.trail[],
  accounts alicloud_compliance.account[]
);

-- The foreign table `trails` names, checked to be a foreign table of this wrapper (a view or a
-- UNION of several would hide which accounts each scan covered).
CREATE FUNCTION alicloud_compliance.trails_table(trails text) RETURNS regclass
LANGUAGE plpgsql STABLE AS $$
DECLARE
  _table regclass := trails::regclass;
BEGIN
  PERFORM FROM pg_foreign_table ft
    JOIN pg_foreign_server s ON s.oid = ft.ftserver
    JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
  WHERE ft.ftrelid = _table AND w.fdwname = 'alicloud_fdw';
  IF NOT FOUND THEN
    RAISE EXCEPTION '% is not a foreign table of alicloud_fdw', _table
      USING HINT = 'Name a foreign table of the trails (IMPORT FOREIGN SCHEMA alicloud creates alicloud_action_trail), on a server with or without members.';
  END IF;
  RETURN _table;
END
$$;

-- Reads the trails through the foreign table `trails` (only the accounts listed in `accounts`,
-- when given: the filter is pushed down), and the accounts that scan covered. A scan that fails
-- is caught: its accounts come back as errors (the failed ones with their own code and request
-- id), never as accounts without trails; with `catch_cancel`, so is a scan that statement_timeout
-- (or a cancel request) stopped, so that a scheduled run records it and goes on.
CREATE FUNCTION alicloud_compliance.scan(
  trails text DEFAULT 'alicloud_action_trail',
  accounts text[] DEFAULT NULL,
  catch_cancel boolean DEFAULT false
) RETURNS alicloud_compliance.scan
LANGUAGE plpgsql AS $$
DECLARE
  _table regclass := alicloud_compliance.trails_table(trails);
  _server text;
  _scan alicloud_compliance.scan;
  _message text;
  _state text;
BEGIN
  SELECT s.srvname INTO _server FROM pg_foreign_table ft
    JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE ft.ftrelid = _table;
  _scan.source := _table::text;
  BEGIN
    EXECUTE format(
      'SELECT coalesce(array_agg(ROW(t.account_id, t.sp_connection_name, t.region, t.name,'
      ' t.home_region, t.trail_region, t.status, t.event_rw, t.is_organization_trail,'
      ' t.organization_id, t.oss_bucket_name, t.oss_bucket_location, t.sls_project_arn,'
      ' t.trail_arn, t.create_time, t.update_time, t.start_logging_time,'
      ' t.stop_logging_time)::alicloud_compliance.trail), ''{}'') FROM %s t%s',
      _table, CASE WHEN accounts IS NULL THEN '' ELSE ' WHERE t.account_id = ANY ($1)' END)
      INTO _scan.trails USING accounts;
  EXCEPTION WHEN query_canceled OR OTHERS THEN
    GET STACKED DIAGNOSTICS _message = MESSAGE_TEXT, _state = RETURNED_SQLSTATE;
    IF _state = '57014' AND NOT catch_cancel THEN
      RAISE;
    END IF;
    _scan.trails := '{}';
  END;
  -- The accounts the scan covered. When it failed (_message set), every one is an error: the
  -- failed ones with their own; the others were read, but the query's failure lost their rows.
  _scan.accounts := ARRAY(
    SELECT ROW(a.sp_connection_name, a.account_id,
               CASE WHEN _message IS NULL THEN a.status ELSE 'error' END,
               CASE WHEN _message IS NULL THEN a.error_code ELSE coalesce(a.error_code, 'rows lost') END,
               a.error_region, a.request_id,
               CASE WHEN _message IS NULL THEN a.error
                    ELSE coalesce(a.error, 'this member was read, but the query failed as a whole (member_failure ''error'', or every member failed), and its rows with it: ' || _message)
               END,
               a.ignored_regions)::alicloud_compliance.account
    FROM alicloud_fdw_scan_accounts() a
    WHERE accounts IS NULL OR a.account_id IS NULL OR a.account_id = ANY (accounts)
    ORDER BY a.sp_connection_name);
  IF _message IS NOT NULL AND cardinality(_scan.accounts) = 0 THEN
    -- The scan failed before it reached any account (a missing user mapping, a member
    -- pattern that matches no server, ...).
    _scan.accounts := ARRAY[ROW(_server, NULL, 'error',
                                CASE _state WHEN '57014' THEN 'canceled' ELSE 'scan failed' END,
                                NULL, NULL, _message,
                                '{}')::alicloud_compliance.account];
  END IF;
  RETURN _scan;
END
$$;

-- The controls' results for one scan. Each trail is reported once, at its home region (a
-- shadow copy only when the home region's answer is missing); an account is anchored by a row
-- in every control, whatever it has; `skip` lists controls to report as skipped.
CREATE FUNCTION alicloud_compliance.evaluate(scan alicloud_compliance.scan, skip text[] DEFAULT '{}')
RETURNS SETOF alicloud_compliance.result
LANGUAGE sql STABLE AS $$
WITH acc AS (
  SELECT a.*,
         coalesce('acs:ram::' || a.account_id || ':root', a.sp_connection_name) AS arn,
         coalesce('account ' || a.account_id, a.sp_connection_name) AS label,
         CASE WHEN cardinality(a.ignored_regions) > 0 THEN
           format(', but regions %s did not answer (left out by ignore_error_codes), so a trail may be missing from what was read',
                  array_to_string(a.ignored_regions, ', '))
         END AS partial
  FROM unnest((scan).accounts) a
),
trail AS (
  SELECT DISTINCT ON (t.sp_connection_name, t.account_id, coalesce(t.trail_arn, t.home_region || '/' || t.name))
         t.*,
         t.status = 'Enable' AS logging,
         t.trail_region = 'All' AS all_regions,
         t.event_rw = 'All' AS all_events
  FROM unnest((scan).trails) t
  JOIN acc a ON a.sp_connection_name = t.sp_connection_name AND a.status = 'ok'
  ORDER BY t.sp_connection_name, t.account_id, coalesce(t.trail_arn, t.home_region || '/' || t.name),
           t.region = t.home_region DESC, t.region
),
described AS (
  SELECT t.*, n.label, n.state,
         format('%s %s, records %s events of %s', n.label, n.state, coalesce(t.event_rw, 'unknown'),
                CASE WHEN t.all_regions THEN 'every region' ELSE 'region ' || coalesce(t.trail_region, 'unknown') END)
           AS summary
  FROM trail t
  CROSS JOIN LATERAL (
    SELECT format('trail %s (%s)', t.name, t.home_region) AS label,
           CASE t.status
             WHEN 'Enable' THEN 'is logging'
             WHEN 'Fresh' THEN 'was created but never started (status Fresh)'
             ELSE format('is not logging (status %s)', coalesce(t.status, 'unknown'))
           END AS state) n
),
-- The account-level controls: the first qualifying trail, else why none does.
account_level AS (
  SELECT c.control_id, c.wanted, a.*, q.name AS q_name, q.label AS q_label,
         q.summary AS q_summary, q.trail_arn AS q_arn, q.is_organization_trail AS q_organization,
         q.organization_id AS q_organization_id, q.home_region AS q_home_region,
         seen.trails_seen
  FROM acc a
  CROSS JOIN (VALUES ('actiontrail_enabled', 'logging trail'),
                     ('actiontrail_trail_intact_enabled', 'logging trail that records every event type (event_rw All) in every region'),
                     ('organization_trail', 'logging multi-account trail for every region'))
    AS c(control_id, wanted)
  LEFT JOIN LATERAL (
    SELECT d.* FROM described d
    WHERE d.sp_connection_name = a.sp_connection_name
      AND CASE c.control_id
            WHEN 'actiontrail_enabled' THEN d.logging
            WHEN 'actiontrail_trail_intact_enabled' THEN d.logging AND d.all_regions AND d.all_events
            ELSE d.logging AND d.all_regions AND coalesce(d.is_organization_trail, false)
          END
    ORDER BY d.name LIMIT 1) q ON true
  LEFT JOIN LATERAL (
    SELECT string_agg(d.summary
                      || CASE WHEN coalesce(d.is_organization_trail, false) THEN ' (multi-account)' ELSE '' END,
                      '; ' ORDER BY d.name) AS trails_seen
    FROM described d WHERE d.sp_connection_name = a.sp_connection_name) seen ON true
  WHERE a.status = 'ok'
),
results AS (
  -- Accounts whose trails could not be read: an error in every control.
  SELECT c.control_id, a.arn AS resource, 'error' AS status,
         format('%s: its trails are unknown: %s%s%s: %s', a.label, a.error_code,
                coalesce(' in ' || a.error_region, ''),
                coalesce(', request id ' || a.request_id, ', no request id'), a.error) AS reason,
         a.account_id, a.error_region AS region, a.sp_connection_name
  FROM acc a CROSS JOIN alicloud_compliance.control c
  WHERE a.status <> 'ok'

  UNION ALL
  -- CIS 2.1, trail by trail.
  SELECT 'cis_2_1', coalesce(d.trail_arn, d.label),
         CASE WHEN d.logging AND d.all_regions AND d.oss_bucket_name IS NOT NULL AND d.sls_project_arn IS NOT NULL
              THEN 'ok' ELSE 'alarm' END,
         CASE WHEN d.logging AND d.all_regions AND d.oss_bucket_name IS NOT NULL AND d.sls_project_arn IS NOT NULL
              THEN format('%s is logging every region to OSS bucket %s and to SLS project %s',
                          d.label, d.oss_bucket_name, d.sls_project_arn)
              ELSE d.label || ' ' || concat_ws('; ',
                     CASE WHEN NOT coalesce(d.logging, false) THEN d.state END,
                     CASE WHEN NOT coalesce(d.all_regions, false) THEN 'records only region ' || coalesce(d.trail_region, 'unknown') END,
                     CASE WHEN d.oss_bucket_name IS NULL THEN 'delivers to no OSS bucket' END,
                     CASE WHEN d.sls_project_arn IS NULL THEN 'delivers to no SLS project' END)
         END,
         d.account_id, d.home_region, d.sp_connection_name
  FROM described d

  UNION ALL
  -- CIS 2.1 for an account without any trail.
  SELECT 'cis_2_1', a.arn,
         CASE WHEN a.partial IS NULL THEN 'alarm' ELSE 'error' END,
         a.label || ' has no trail' || coalesce(a.partial, ''),
         a.account_id, NULL, a.sp_connection_name
  FROM acc a
  WHERE a.status = 'ok'
    AND NOT EXISTS (SELECT FROM described d WHERE d.sp_connection_name = a.sp_connection_name)

  UNION ALL
  -- The account-level controls.
  SELECT l.control_id,
         CASE WHEN l.q_name IS NULL THEN l.arn ELSE coalesce(l.q_arn, l.q_label) END,
         CASE WHEN l.q_name IS NOT NULL THEN 'ok' WHEN l.partial IS NULL THEN 'alarm' ELSE 'error' END,
         CASE WHEN l.q_name IS NOT NULL
              THEN format('%s: %s', l.label, l.q_summary)
                   || CASE WHEN l.q_organization THEN format(' (multi-account trail of directory %s)', l.q_organization_id) ELSE '' END
              ELSE format('%s has no %s', l.label, l.wanted)
                   || coalesce(l.partial, '')
                   || coalesce('; its trails: ' || l.trails_seen, '; it has no trail at all')
         END,
         l.account_id, l.q_home_region, l.sp_connection_name
  FROM account_level l

  UNION ALL
  -- CIS 2.2: a check by hand of every bucket a trail delivers to.
  SELECT 'cis_2_2', 'acs:oss:' || coalesce(d.oss_bucket_location || ':', ':') || ':' || d.oss_bucket_name,
         'info',
         format('check by hand that OSS bucket %s (receiving the logs of %s) is not public: its ACL is private, no bucket policy grants access to anonymous or all users, and Block Public Access is on', d.oss_bucket_name, d.label),
         d.account_id, d.home_region, d.sp_connection_name
  FROM described d
  WHERE d.oss_bucket_name IS NOT NULL

  UNION ALL
  SELECT 'cis_2_2', a.arn, 'info',
         a.label || ': no trail delivers to an OSS bucket, so no bucket to check' || coalesce(a.partial, ''),
         a.account_id, NULL, a.sp_connection_name
  FROM acc a
  WHERE a.status = 'ok'
    AND NOT EXISTS (SELECT FROM described d WHERE d.sp_connection_name = a.sp_connection_name
                                              AND d.oss_bucket_name IS NOT NULL)
)
SELECT r.control_id, r.resource,
       CASE WHEN r.control_id = ANY (skip) THEN 'skip' ELSE r.status END,
       CASE WHEN r.control_id = ANY (skip) THEN 'skipped on request (skip => ' || r.control_id || ')' ELSE r.reason END,
       r.account_id, r.region, r.sp_connection_name
FROM results r
ORDER BY r.control_id, r.sp_connection_name, r.resource
$$;

-- Every control's results, from one scan of `trails`.
CREATE FUNCTION alicloud_compliance.controls(
  trails text DEFAULT 'alicloud_action_trail',
  accounts text[] DEFAULT NULL,
  skip text[] DEFAULT '{}'
) RETURNS SETOF alicloud_compliance.result
LANGUAGE sql AS $$
  SELECT * FROM alicloud_compliance.evaluate(alicloud_compliance.scan(trails, accounts), skip)
$$;

-- One control's results each: the same as controls() for that control_id.
CREATE FUNCTION alicloud_compliance.cis_2_1(trails text DEFAULT 'alicloud_action_trail', accounts text[] DEFAULT NULL)
RETURNS SETOF alicloud_compliance.result
LANGUAGE sql AS $$ SELECT * FROM alicloud_compliance.controls(trails, accounts) c WHERE c.control_id = 'cis_2_1' $$;
CREATE FUNCTION alicloud_compliance.cis_2_2(trails text DEFAULT 'alicloud_action_trail', accounts text[] DEFAULT NULL)
RETURNS SETOF alicloud_compliance.result
LANGUAGE sql AS $$ SELECT * FROM alicloud_compliance.controls(trails, accounts) c WHERE c.control_id = 'cis_2_2' $$;
CREATE FUNCTION alicloud_compliance.actiontrail_enabled(trails text DEFAULT 'alicloud_action_trail', accounts text[] DEFAULT NULL)
RETURNS SETOF alicloud_compliance.result
LANGUAGE sql AS $$ SELECT * FROM alicloud_compliance.controls(trails, accounts) c WHERE c.control_id = 'actiontrail_enabled' $$;
CREATE FUNCTION alicloud_compliance.actiontrail_trail_intact_enabled(trails text DEFAULT 'alicloud_action_trail', accounts text[] DEFAULT NULL)
RETURNS SETOF alicloud_compliance.result
LANGUAGE sql AS $$ SELECT * FROM alicloud_compliance.controls(trails, accounts) c WHERE c.control_id = 'actiontrail_trail_intact_enabled' $$;
CREATE FUNCTION alicloud_compliance.organization_trail(trails text DEFAULT 'alicloud_action_trail', accounts text[] DEFAULT NULL)
RETURNS SETOF alicloud_compliance.result
LANGUAGE sql AS $$ SELECT * FROM alicloud_compliance.controls(trails, accounts) c WHERE c.control_id = 'organization_trail' $$;

-- Counts by status per control, and a row 'all' over every control; exit_status is what a
-- script branches on: 0 when everything is ok (or info, or skipped), 1 when something alarms, 2
-- when some state could not be computed.
CREATE FUNCTION alicloud_compliance.summarize(results alicloud_compliance.result[])
RETURNS TABLE (control_id text, ok bigint, alarm bigint, info bigint, skipped bigint, error bigint,
               exit_status integer)
LANGUAGE sql IMMUTABLE AS $$
  WITH r AS (SELECT x.control_id, x.status FROM unnest(results) x),
  counted AS (
    SELECT coalesce(r.control_id, 'all') AS control_id,
           count(*) FILTER (WHERE r.status = 'ok') AS ok,
           count(*) FILTER (WHERE r.status = 'alarm') AS alarm,
           count(*) FILTER (WHERE r.status = 'info') AS info,
           count(*) FILTER (WHERE r.status = 'skip') AS skip,
           count(*) FILTER (WHERE r.status = 'error') AS error,
           grouping(r.control_id) AS total
    FROM r GROUP BY ROLLUP (r.control_id)
  )
  SELECT c.control_id, c.ok, c.alarm, c.info, c.skip, c.error,
         CASE WHEN c.error > 0 THEN 2 WHEN c.alarm > 0 THEN 1 ELSE 0 END
  FROM counted c
  ORDER BY c.total, c.control_id
$$;

CREATE FUNCTION alicloud_compliance.summary(
  trails text DEFAULT 'alicloud_action_trail',
  accounts text[] DEFAULT NULL,
  skip text[] DEFAULT '{}'
) RETURNS TABLE (control_id text, ok bigint, alarm bigint, info bigint, skipped bigint, error bigint,
                 exit_status integer)
LANGUAGE sql AS $$
  SELECT * FROM alicloud_compliance.summarize(
    ARRAY(SELECT c::alicloud_compliance.result FROM alicloud_compliance.controls(trails, accounts, skip) c))
$$;

-- History: one row per run of alicloud_compliance.run(), what each run read and what the controls
-- said, kept by run (the columns of the types above). pg_dump keeps their rows
-- (pg_extension_config_dump).
CREATE TABLE alicloud_compliance.run (
  run_id bigserial PRIMARY KEY,
  source text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  -- ok: every account read; partial: some accounts could not be read; error: none could (or a
  -- step failed); skipped: the previous run of the same table was still running.
  status text NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'error', 'skipped')),
  accounts integer,
  failed_accounts integer,
  trail_rows integer,
  alarms integer,
  errors integer,
  message text
);
CREATE INDEX ON alicloud_compliance.run (source, started_at);
COMMENT ON TABLE alicloud_compliance.run IS 'alicloud_compliance.run() runs: when, what it scanned, counts and outcome';

CREATE TABLE alicloud_compliance.account_history (
  run_id bigint NOT NULL REFERENCES alicloud_compliance.run ON DELETE CASCADE,
  LIKE alicloud_compliance.account
);
CREATE INDEX ON alicloud_compliance.account_history (run_id);
COMMENT ON TABLE alicloud_compliance.account_history IS 'The accounts each run covered, and whether their trails could be read';

CREATE TABLE alicloud_compliance.trail_history (
  run_id bigint NOT NULL REFERENCES alicloud_compliance.run ON DELETE CASCADE,
  LIKE alicloud_compliance.trail
);
CREATE INDEX ON alicloud_compliance.trail_history (run_id);
COMMENT ON TABLE alicloud_compliance.trail_history IS 'The trails each run read, every row (shadow copies included)';

CREATE TABLE alicloud_compliance.result_history (
  run_id bigint NOT NULL REFERENCES alicloud_compliance.run ON DELETE CASCADE,
  LIKE alicloud_compliance.result
);
CREATE INDEX ON alicloud_compliance.result_history (run_id);
COMMENT ON TABLE alicloud_compliance.result_history IS 'The controls'' results of each run';

SELECT pg_catalog.pg_extension_config_dump('alicloud_compliance.run', '');
SELECT pg_catalog.pg_extension_config_dump('alicloud_compliance.run_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('alicloud_compliance.account_history', '');
SELECT pg_catalog.pg_extension_config_dump('alicloud_compliance.trail_history', '');
SELECT pg_catalog.pg_extension_config_dump('alicloud_compliance.result_history', '');

-- One scheduled run: scans `trails` once, keeps what it read and what the controls said, by run.
-- Made for pg_cron, which keeps no NOTICE or WARNING and only a command tag: everything goes into
-- the history tables. A run of the same table that is still going makes this one record itself
-- as skipped instead of queueing behind it. Each step catches its own error, recorded in the
-- run's message, so one failed step never rolls the others back; a failed scan is error rows.
CREATE PROCEDURE alicloud_compliance.run(
  trails text DEFAULT 'alicloud_action_trail',
  skip text[] DEFAULT '{}'
) LANGUAGE plpgsql AS $$
DECLARE
  _run bigint;
  _scan alicloud_compliance.scan;
  _source text := trails;
  _step text;
  _message text;
  _problems text[] := '{}';
BEGIN
  BEGIN
    _source := alicloud_compliance.trails_table(trails)::text;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS _message = MESSAGE_TEXT;
    INSERT INTO alicloud_compliance.run (source, finished_at, status, message)
    VALUES (trails, clock_timestamp(), 'error', _message);
    RETURN;
  END;
  -- One run per table at a time: the lock goes with this run's transaction.
  IF NOT pg_try_advisory_xact_lock(hashtext('alicloud_compliance.run'), hashtext(_source)) THEN
    INSERT INTO alicloud_compliance.run (source, finished_at, status, message)
    VALUES (_source, clock_timestamp(), 'skipped', 'skipped: previous run still running');
    RETURN;
  END IF;
  INSERT INTO alicloud_compliance.run (source, status) VALUES (_source, 'running')
  RETURNING run_id INTO _run;

  -- The scan catches its own failures: they come back as accounts in error.
  _scan := alicloud_compliance.scan(_source, NULL, true);

  FOREACH _step IN ARRAY ARRAY['accounts', 'trails', 'results'] LOOP
    BEGIN
      CASE _step
        WHEN 'accounts' THEN
          INSERT INTO alicloud_compliance.account_history
          SELECT _run, a.* FROM unnest(_scan.accounts) a;
        WHEN 'trails' THEN
          INSERT INTO alicloud_compliance.trail_history
          SELECT _run, t.* FROM unnest(_scan.trails) t;
        WHEN 'results' THEN
          INSERT INTO alicloud_compliance.result_history
          SELECT _run, r.* FROM alicloud_compliance.evaluate(_scan, skip) r;
      END CASE;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS _message = MESSAGE_TEXT;
      _problems := _problems || format('%s not recorded: %s', _step, _message);
    END;
  END LOOP;

  UPDATE alicloud_compliance.run r SET
    finished_at = clock_timestamp(),
    accounts = cardinality(_scan.accounts),
    failed_accounts = (SELECT count(*) FROM unnest(_scan.accounts) a WHERE a.status <> 'ok'),
    trail_rows = cardinality(_scan.trails),
    alarms = (SELECT count(*) FROM alicloud_compliance.result_history h WHERE h.run_id = _run AND h.status = 'alarm'),
    errors = (SELECT count(*) FROM alicloud_compliance.result_history h WHERE h.run_id = _run AND h.status = 'error'),
    status = CASE
      WHEN cardinality(_problems) > 0 THEN 'error'
      WHEN NOT EXISTS (SELECT FROM unnest(_scan.accounts) a WHERE a.status = 'ok') THEN 'error'
      WHEN EXISTS (SELECT FROM unnest(_scan.accounts) a WHERE a.status <> 'ok') THEN 'partial'
      ELSE 'ok' END,
    message = CASE
      WHEN cardinality(_problems) > 0 THEN array_to_string(_problems, '; ')
      ELSE (SELECT string_agg(format('%s: %s', a.sp_connection_name, a.error_code), ', ' ORDER BY a.sp_connection_name)
              FROM unnest(_scan.accounts) a WHERE a.status <> 'ok') END
  WHERE r.run_id = _run;
END
$$;
COMMENT ON PROCEDURE alicloud_compliance.run(text, text[]) IS 'Scans the trails once and records the run, the accounts, the trails and the controls'' results in the history tables (for pg_cron)';

-- Counts by status per control of a run (the latest finished one of any table by default).
CREATE FUNCTION alicloud_compliance.run_summary(run_id bigint DEFAULT NULL)
RETURNS TABLE (control_id text, ok bigint, alarm bigint, info bigint, skipped bigint, error bigint,
               exit_status integer)
LANGUAGE sql STABLE AS $$
  SELECT * FROM alicloud_compliance.summarize(ARRAY(
    SELECT ROW(h.control_id, h.resource, h.status, h.reason, h.account_id, h.region,
               h.sp_connection_name)::alicloud_compliance.result
    FROM alicloud_compliance.result_history h
    WHERE h.run_id = coalesce(run_summary.run_id,
                              (SELECT max(r.run_id) FROM alicloud_compliance.run r
                               WHERE r.status IN ('ok', 'partial', 'error') AND r.finished_at IS NOT NULL))))
$$;

-- The results of the latest run of each table that read at least one account, with when the
-- trails were captured: what a dashboard shows (docs/compliance.md has the materialized view).
CREATE VIEW alicloud_compliance.latest_results AS
SELECT r.started_at AS captured_at, r.run_id, r.source, h.control_id, h.resource, h.status,
       h.reason, h.account_id, h.region, h.sp_connection_name
FROM alicloud_compliance.run r
JOIN alicloud_compliance.result_history h ON h.run_id = r.run_id
WHERE r.run_id IN (SELECT max(l.run_id) FROM alicloud_compliance.run l
                   WHERE l.status IN ('ok', 'partial') GROUP BY l.source);
COMMENT ON VIEW alicloud_compliance.latest_results IS 'The controls'' results of the latest run of each table that read at least one account';

-- What changed in each account's trails between two consecutive runs of the same table in which
-- that account was read: a run where the account could not be read is passed over, so a failed
-- scan never reads as a deleted trail. `noticed_after` and `noticed_by` bound when the change was
-- made as far as the snapshots can tell; update_time and stop_logging_time are what the trail
-- itself says.
CREATE VIEW alicloud_compliance.trail_changes AS
WITH read AS (
  SELECT r.run_id, r.source, r.started_at, r.finished_at, a.account_id, a.sp_connection_name,
         lag(r.run_id) OVER w AS previous_run_id,
         lag(r.started_at) OVER w AS previous_started_at
  FROM alicloud_compliance.run r
  JOIN alicloud_compliance.account_history a ON a.run_id = r.run_id AND a.status = 'ok'
  WINDOW w AS (PARTITION BY r.source, a.sp_connection_name ORDER BY r.run_id)
),
home AS (
  SELECT DISTINCT ON (t.run_id, t.sp_connection_name, coalesce(t.trail_arn, t.home_region || '/' || t.name)) t.*,
         coalesce(t.trail_arn, t.home_region || '/' || t.name) AS trail_key
  FROM alicloud_compliance.trail_history t
  ORDER BY t.run_id, t.sp_connection_name, coalesce(t.trail_arn, t.home_region || '/' || t.name),
           t.region = t.home_region DESC, t.region
),
pairs AS (
  SELECT rd.*, b AS before, a AS after
  FROM read rd
  JOIN LATERAL (
    SELECT b, a FROM
      (SELECT * FROM home h WHERE h.run_id = rd.previous_run_id AND h.sp_connection_name = rd.sp_connection_name) b
      FULL JOIN
      (SELECT * FROM home h WHERE h.run_id = rd.run_id AND h.sp_connection_name = rd.sp_connection_name) a
      ON a.trail_key = b.trail_key
  ) x ON true
  WHERE rd.previous_run_id IS NOT NULL
)
SELECT p.source, p.sp_connection_name, p.account_id,
       coalesce((p.after).name, (p.before).name) AS trail_name,
       coalesce((p.after).trail_arn, (p.before).trail_arn) AS trail_arn,
       c.change, c.before_value, c.after_value,
       p.previous_run_id, p.run_id,
       p.previous_started_at AS noticed_after, p.started_at AS noticed_by,
       (p.after).update_time, coalesce((p.after).stop_logging_time, (p.before).stop_logging_time) AS stop_logging_time
FROM pairs p
CROSS JOIN LATERAL (VALUES
  ('added', NULL, (p.after).status, (p.before).trail_key IS NULL),
  ('deleted', (p.before).status, NULL, (p.after).trail_key IS NULL),
  ('disabled', (p.before).status, (p.after).status,
     (p.before).status = 'Enable' AND (p.after).status IS DISTINCT FROM 'Enable' AND (p.after).trail_key IS NOT NULL),
  ('enabled', (p.before).status, (p.after).status,
     (p.before).status IS DISTINCT FROM 'Enable' AND (p.after).status = 'Enable' AND (p.before).trail_key IS NOT NULL),
  ('oss destination removed', (p.before).oss_bucket_name, (p.after).oss_bucket_name,
     (p.before).oss_bucket_name IS NOT NULL AND (p.after).oss_bucket_name IS NULL AND (p.after).trail_key IS NOT NULL),
  ('sls destination removed', (p.before).sls_project_arn, (p.after).sls_project_arn,
     (p.before).sls_project_arn IS NOT NULL AND (p.after).sls_project_arn IS NULL AND (p.after).trail_key IS NOT NULL),
  ('event types narrowed', (p.before).event_rw, (p.after).event_rw,
     (p.before).event_rw = 'All' AND (p.after).event_rw IS DISTINCT FROM 'All' AND (p.after).trail_key IS NOT NULL),
  ('regions narrowed', (p.before).trail_region, (p.after).trail_region,
     (p.before).trail_region = 'All' AND (p.after).trail_region IS DISTINCT FROM 'All' AND (p.after).trail_key IS NOT NULL)
) AS c(change, before_value, after_value, happened)
WHERE c.happened;
COMMENT ON VIEW alicloud_compliance.trail_changes IS 'Changes to each account''s trails between consecutive runs that read that account';

-- Deletes the runs (and their history) that started more than `keep` ago, and pg_cron's own
-- job_run_details as old, when pg_cron is installed in this database. Returns the runs deleted.
CREATE FUNCTION alicloud_compliance.cleanup(keep interval DEFAULT '90 days')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  _runs bigint;
BEGIN
  DELETE FROM alicloud_compliance.run WHERE started_at < now() - keep;
  GET DIAGNOSTICS _runs = ROW_COUNT;
  IF to_regclass('cron.job_run_details') IS NOT NULL THEN
    EXECUTE 'DELETE FROM cron.job_run_details WHERE end_time < now() - $1' USING keep;
  END IF;
  RETURN _runs;
END
$$;
