-- The foreign data wrapper itself, the statistics view, and the event trigger that comments
-- imported tables.
-- Installed by CREATE EXTENSION after the generated functions (extension_sql_file! in src/lib.rs).

CREATE FOREIGN DATA WRAPPER alicloud_fdw
  HANDLER alicloud_fdw_handler
  VALIDATOR alicloud_fdw_validator;
COMMENT ON FOREIGN DATA WRAPPER alicloud_fdw IS 'Alibaba Cloud (ActionTrail) as foreign tables';

-- Postgres lets an FDW's import return only CREATE FOREIGN TABLE statements, so the table and
-- column comments are added here, right after IMPORT FOREIGN SCHEMA creates the tables. The texts
-- come from each table's one declaration (crates/alicloud-tables, via
-- alicloud_fdw_table_comments(relation)).
CREATE FUNCTION alicloud_fdw_comment_imported_tables() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  cmd record;
  c record;
BEGIN
  FOR cmd IN
    SELECT e.objid
    FROM pg_event_trigger_ddl_commands() e
    JOIN pg_foreign_table ft ON ft.ftrelid = e.objid
    JOIN pg_foreign_server s ON s.oid = ft.ftserver
    JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
    WHERE e.command_tag = 'CREATE FOREIGN TABLE'
      AND w.fdwname = 'alicloud_fdw'
  LOOP
    FOR c IN SELECT * FROM alicloud_fdw_table_comments(cmd.objid) LOOP
      IF c.column_name IS NULL THEN
        EXECUTE format('COMMENT ON FOREIGN TABLE %s IS %L', cmd.objid::regclass, c.comment);
      ELSE
        EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', cmd.objid::regclass, c.column_name, c.comment);
      END IF;
    END LOOP;
  END LOOP;
END
$$;

CREATE EVENT TRIGGER alicloud_fdw_comment_imported_tables
  ON ddl_command_end
  WHEN TAG IN ('IMPORT FOREIGN SCHEMA')
  EXECUTE FUNCTION alicloud_fdw_comment_imported_tables();

-- Call statistics of the servers the current user may use, per region and action (and member, on
-- a server with members), shared by all sessions (see docs/configuration.md). The last error
-- columns show the current user's own last error (a superuser's: anyone's).
CREATE VIEW alicloud_fdw_stats AS
SELECT server_name AS server, member, region, action, calls, errors, retries, throttles,
       cache_hits, cache_misses, coalesced, rows, bytes,
       round(total_ms::numeric, 1) AS total_ms,
       round(max_ms::numeric, 1) AS max_ms,
       CASE WHEN calls > 0 THEN round((total_ms / calls)::numeric, 1) END AS mean_ms,
       scans, last_ok_at::timestamptz AS last_ok_at,
       last_error_at::timestamptz AS last_error_at, last_error_code, last_error, last_request_id
FROM alicloud_fdw_stats_rows();
-- Safe for everyone: alicloud_fdw_stats_rows() shows only servers the caller may use.
GRANT SELECT ON alicloud_fdw_stats TO PUBLIC;
COMMENT ON VIEW alicloud_fdw_stats IS 'alicloud_fdw API calls per server, member, region and action: calls, errors by code, retries, throttling, cache hits and misses, calls shared with other sessions, rows, bytes, latency, each member''s scans and last success, and your own last error';
