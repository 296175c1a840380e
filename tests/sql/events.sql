-- alicloud_action_trail_event: the window and lookup attributes sent (proven by the calls the mock
-- received), paging, LIMIT, the API's unsettled rules as the mock plays each of them, errors,
-- cancel, and a differential test of time boundaries against a heap table of the fixture's events.
\getenv mock_port MOCK_PORT
\set mock 'http://127.0.0.1:' :mock_port
SET regress.mock = :'mock';
\d alicloud_action_trail_event
-- The fixture's events of the default account, as the mock holds them: a heap table to compare
-- scans with.
CREATE TEMP TABLE fixture_lines (line text);
SELECT format('COPY fixture_lines FROM PROGRAM %L WITH (FORMAT csv, QUOTE e''\x01'', DELIMITER e''\x02'')',
              'curl -sf ' || current_setting('regress.mock') || '/_admin/events') AS copy_events \gset
:copy_events;
CREATE TEMP TABLE fixture_events AS
  SELECT line::jsonb->>'store' AS store,
         line::jsonb->'event'->>'eventId' AS event_id,
         (line::jsonb->'event'->>'eventTime')::timestamptz AS event_time,
         line::jsonb->'event'->>'eventName' AS event_name,
         line::jsonb->'event'->'userIdentity'->>'userName' AS user_name
    FROM fixture_lines;
SELECT store, count(*) FROM fixture_events GROUP BY store ORDER BY store;
-- The calls the mock received since the last reset, LookupEvents only: the window as its length
-- and its end (relative to `ref`, or to now), the attributes, whether a page token was sent, and
-- the outcome.
CREATE TEMP TABLE mock_calls (doc text);
CREATE FUNCTION lookups(ref timestamptz DEFAULT NULL) RETURNS TABLE (
  region text, window_length interval, window_end text, attributes text, token boolean, outcome text)
LANGUAGE plpgsql AS $$
DECLARE
  calls jsonb;
BEGIN
  TRUNCATE mock_calls;
  EXECUTE format('COPY mock_calls FROM PROGRAM %L WITH (FORMAT csv, QUOTE e''\x01'', DELIMITER e''\x02'')',
                 'curl -sf ' || current_setting('regress.mock') || '/_admin/calls | tr -d ''\n''');
  SELECT doc::jsonb INTO calls FROM mock_calls;
  RETURN QUERY
    SELECT c->>'region',
           (c->'params'->>'EndTime')::timestamptz - (c->'params'->>'StartTime')::timestamptz,
           -- The scan ends its window at the next whole minute; this statement may run after it.
           CASE WHEN (c->'params'->>'EndTime')::timestamptz
                     BETWEEN now() - interval '5 minutes' AND now() + interval '2 minutes'
                THEN 'now'
                WHEN ref IS NULL
                THEN 'now - ' || date_trunc('day', now() + interval '2 minutes' - (c->'params'->>'EndTime')::timestamptz)::text
                ELSE 'ref ' || ((c->'params'->>'EndTime')::timestamptz - ref)::text END,
           concat_ws(', ', c->'params'->>'LookupAttribute.1.Key' || '=' || (c->'params'->>'LookupAttribute.1.Value'),
                           c->'params'->>'LookupAttribute.2.Key' || '=' || (c->'params'->>'LookupAttribute.2.Value')),
           c->'params' ? 'NextToken',
           c->>'outcome'
      FROM jsonb_array_elements(calls) AS c
     WHERE c->>'action' = 'LookupEvents'
     ORDER BY 1, 4, 5, 6;
END $$;
-- A reference instant: when bob stopped the trail beijing-disabled.
SELECT event_time AS ref FROM fixture_events
 WHERE event_name = 'StopLogging' AND user_name = 'bob' \gset
-- Differential test: the rows of cn-beijing a condition selects, scanned and from the heap table.
CREATE FUNCTION compare(condition text, show_count boolean DEFAULT true) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  expected text[]; got text[]; missing int; extra int;
BEGIN
  EXECUTE format('SELECT coalesce(array_agg(event_id), ''{}'') FROM fixture_events WHERE store = ''cn-beijing'' AND (%s)', condition)
    INTO expected;
  EXECUTE format('SELECT coalesce(array_agg(event_id), ''{}'') FROM alicloud_action_trail_event WHERE region = ''cn-beijing'' AND (%s)', condition)
    INTO got;
  SELECT count(*) INTO missing FROM unnest(expected) e WHERE e <> ALL (got);
  SELECT count(*) INTO extra FROM unnest(got) g WHERE g <> ALL (expected);
  RETURN CASE WHEN show_count THEN cardinality(expected) || ' rows, ' ELSE '' END
         || missing || ' missing, ' || extra || ' extra'
         || CASE WHEN cardinality(got) <> cardinality(expected) THEN ', count differs' ELSE '' END;
END $$;
-- Each condition is written with "ref" for the reference instant.
SELECT condition, compare(replace(condition, 'ref', quote_literal(:'ref') || '::timestamptz'))
  FROM unnest(ARRAY[
  'event_time >= ref',
  'event_time > ref',
  'event_time <= ref',
  'event_time < ref',
  'event_time = ref',
  'event_time BETWEEN ref - interval ''20 days'' AND ref',
  'event_time > ref - interval ''0.5 s'' AND event_time < ref + interval ''0.5 s''',
  'event_time >= ref + interval ''0.25 s''',
  'event_time <= ref - interval ''0.25 s'' AND event_time > ref - interval ''3 days''',
  'event_time IN (ref, ref - interval ''1 hour'')',
  'event_time > ref AND event_time < ref',
  'event_time > ref AND event_time <= ref - interval ''1 day'''
]) AS condition;
-- Bounds written in other time zones, under another session time zone.
SET TimeZone = 'America/New_York';
SELECT compare(format('event_time >= %L AND event_time < %L',
                      to_char(:'ref'::timestamptz AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') || '+08',
                      to_char(:'ref'::timestamptz AT TIME ZONE 'UTC' + interval '1 day', 'YYYY-MM-DD HH24:MI:SS') || 'Z'));
SELECT compare(format('event_time > %L', to_char(:'ref'::timestamptz, 'YYYY-MM-DD HH24:MI:SS')));
RESET TimeZone;
-- Bounds relative to now(), computed once when the scan starts.
SELECT compare('event_time > now() - interval ''5 days 4 hours''', false);
SELECT compare('event_time BETWEEN now() - interval ''40 days'' AND now() - interval ''2 days''', false);
-- Parameters (a prepared statement), with two sets of values.
PREPARE beijing(timestamptz, timestamptz) AS
  SELECT count(*) FROM alicloud_action_trail_event
   WHERE region = 'cn-beijing' AND event_time > $1 AND event_time <= $2;
EXECUTE beijing(:'ref'::timestamptz - interval '10 days', :'ref');
SELECT count(*) FROM fixture_events
 WHERE store = 'cn-beijing' AND event_time > :'ref'::timestamptz - interval '10 days' AND event_time <= :'ref';
EXECUTE beijing(:'ref', :'ref'::timestamptz + interval '2 days');
SELECT count(*) FROM fixture_events
 WHERE store = 'cn-beijing' AND event_time > :'ref' AND event_time <= :'ref'::timestamptz + interval '2 days';
DEALLOCATE beijing;

-- Pushdown, proven by the calls: the window in whole seconds, widened by one on each side, the
-- same on every page; IN on event_name is one listing per value.
\! mock-admin reset-calls
SELECT region, event_name, user_name, error_code FROM alicloud_action_trail_event
 WHERE event_time BETWEEN :'ref'::timestamptz - interval '1 day' AND :'ref'::timestamptz + interval '4 days 0.5 s'
   AND event_name IN ('StopLogging', 'DeleteTrail')
 ORDER BY event_time DESC;
SELECT * FROM lookups(:'ref');
-- Constants in EXPLAIN: the window and the attributes sent.
EXPLAIN (COSTS OFF) SELECT * FROM alicloud_action_trail_event
 WHERE event_time >= '2026-11-01 10:00:00.75+00' AND event_time < '2026-11-02'
   AND service_name = 'Actiontrail' AND event_name IN ('StopLogging', 'DeleteTrail');
-- Values known when the scan starts, and no condition on event_time: the whole retention.
EXPLAIN (COSTS OFF) SELECT event_id FROM alicloud_action_trail_event
 WHERE event_time > now() - interval '1 day' AND user_name = current_user;
-- A documented pair is sent whole; another pair sends its most selective key, the other is
-- filtered here.
\! mock-admin reset-calls
SELECT event_name, user_name FROM alicloud_action_trail_event
 WHERE region = 'cn-beijing' AND service_name = 'Actiontrail' AND event_name = 'StopLogging'
 ORDER BY event_time;
SELECT event_name, user_name FROM alicloud_action_trail_event
 WHERE region = 'cn-beijing' AND event_name = 'StopLogging' AND user_name = 'bob';
SELECT region, window_length, attributes, outcome FROM lookups();
-- An API that takes one attribute only refuses the pair: it is then sent as its first key, and
-- the rows are the same.
\! mock-admin lookup-rules '{"max_attributes": 1}'
\! mock-admin reset-calls
SELECT event_name, user_name FROM alicloud_action_trail_event
 WHERE region = 'cn-beijing' AND service_name = 'Actiontrail' AND event_name = 'StopLogging'
 ORDER BY event_time;
SELECT region, attributes, outcome FROM lookups();
-- An API that caps the window at 30 days refuses the 90 days: they are read in 30-day slices,
-- newest first, and every event is still there once.
\! mock-admin lookup-rules '{"window_cap_days": 30}'
\! mock-admin reset-calls
SELECT count(*), count(DISTINCT event_id) FROM alicloud_action_trail_event WHERE region = 'cn-beijing';
SELECT count(*) FROM fixture_events WHERE store = 'cn-beijing';
SELECT region, window_length, window_end, token, outcome FROM lookups();
-- Every region serving the global events: each is one row all the same.
\! mock-admin lookup-rules '{"global_event_regions": ["*"]}'
SELECT event_name, is_global, count(*) FROM alicloud_action_trail_event
 WHERE event_name IN ('ConsoleSignin', 'CreateUser') GROUP BY 1, 2 ORDER BY 1;
\! mock-admin reset-lookup-rules

-- LIMIT stops the paging: cn-hangzhou has three pages, one is asked.
\! mock-admin reset-calls
SELECT count(*) FROM (SELECT event_id FROM alicloud_action_trail_event WHERE region = 'cn-hangzhou' LIMIT 5) s;
SELECT count(*) FROM (SELECT event_id FROM alicloud_action_trail_event
                       WHERE region = 'cn-hangzhou' ORDER BY event_time DESC LIMIT 10) s;
SELECT region, token, outcome FROM lookups();
-- The newest ten come in the API's order: no sort. (The whole retention's dates are masked.)
CREATE FUNCTION explain_masked(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    RETURN NEXT regexp_replace(line, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z', '<time>', 'g');
  END LOOP;
END $$;
SELECT explain_masked('SELECT event_id FROM alicloud_action_trail_event ORDER BY event_time DESC LIMIT 10');
-- The first ten rows merged across regions are the heap's newest ten.
SELECT (SELECT array_agg(event_id) FROM (SELECT event_id FROM alicloud_action_trail_event
                                          ORDER BY event_time DESC LIMIT 10) s)
     = (SELECT array_agg(event_id) FROM (SELECT event_id FROM fixture_events
                                          WHERE store IN ('cn-hangzhou', 'cn-shanghai', 'cn-beijing', 'cn-shenzhen')
                                          ORDER BY event_time DESC, event_id DESC LIMIT 10) s) AS same_newest_ten;

-- Throttling is retried.
\! mock-admin fault cn-beijing '{"throttle": 2, "retry_after_ms": 30, "actions": ["LookupEvents"]}'
\! mock-admin reset-calls
SELECT count(*) FROM alicloud_action_trail_event WHERE region = 'cn-beijing' AND event_name = 'StopLogging';
SELECT region, outcome FROM lookups();
-- A page token the API sent before is an error, not a loop.
\! mock-admin fault cn-hangzhou '{"repeat_token": true}'
SELECT regress_try($$SELECT count(*) FROM alicloud_action_trail_event WHERE region = 'cn-hangzhou'$$);
\! mock-admin clear-faults
-- Each documented error, with its code and request id.
\! mock-admin fault cn-beijing '{"error_code": "InvalidParameterStartTime", "request_id": "REQ-EVENTS-1"}'
SELECT regress_try(format($$SELECT count(*) FROM alicloud_action_trail_event WHERE region = 'cn-beijing' AND event_time > %L$$, :'ref'));
\! mock-admin fault cn-beijing '{"error_code": "InvalidParameterEndTime", "request_id": "REQ-EVENTS-2"}'
SELECT regress_try(format($$SELECT count(*) FROM alicloud_action_trail_event WHERE region = 'cn-beijing' AND event_time > %L$$, :'ref'));
\! mock-admin fault cn-beijing '{"error_code": "InvalidParameterCombination", "request_id": "REQ-EVENTS-3"}'
SELECT regress_try(format($$SELECT count(*) FROM alicloud_action_trail_event WHERE region = 'cn-beijing' AND event_time > %L$$, :'ref'));
\! mock-admin fault cn-beijing '{"error_code": "InvalidQueryParameter", "request_id": "REQ-EVENTS-4"}'
SELECT regress_try(format($$SELECT count(*) FROM alicloud_action_trail_event WHERE region = 'cn-beijing' AND event_time > %L$$, :'ref'));
\! mock-admin fault cn-beijing '{"error_code": "IncompleteSignature", "request_id": "REQ-EVENTS-5"}'
SELECT regress_try(format($$SELECT count(*) FROM alicloud_action_trail_event WHERE region = 'cn-beijing' AND event_time > %L$$, :'ref'));
\! mock-admin clear-faults
-- A cancel in the middle of the paging (each page is slow); the session stays usable.
\! mock-admin fault cn-hangzhou '{"latency_ms": 400}'
SET statement_timeout = '1200ms';
SELECT count(*) FROM alicloud_action_trail_event WHERE region = 'cn-hangzhou';
RESET statement_timeout;
\! mock-admin clear-faults
SELECT count(*) FROM alicloud_action_trail_event WHERE region = 'cn-hangzhou' AND event_name = 'DeleteTrail';

-- Who stopped or deleted an audit trail in the last 30 days, and what the trail is now (the
-- table page's example).
SELECT e.event_name, e.resource_name AS trail, e.user_name, e.source_ip_address, e.error_code,
       coalesce(t.status, 'deleted') AS trail_now
  FROM alicloud_action_trail_event e
  LEFT JOIN alicloud_action_trail t
    ON t.name = e.resource_name AND t.region = e.region AND t.home_region = e.region
 WHERE e.event_name IN ('StopLogging', 'DeleteTrail')
   AND e.event_time > now() - interval '30 days'
 ORDER BY e.event_time DESC;
