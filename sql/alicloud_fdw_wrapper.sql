-- The foreign data wrapper itself, and the event trigger that comments imported tables.
-- Installed by CREATE EXTENSION after the generated functions (extension_sql_file! in src/lib.rs).

CREATE FOREIGN DATA WRAPPER alicloud_fdw
  HANDLER alicloud_fdw_handler
  VALIDATOR alicloud_fdw_validator;
COMMENT ON FOREIGN DATA WRAPPER alicloud_fdw IS 'Alibaba Cloud (ActionTrail trails) as foreign tables';

-- Postgres lets an FDW's import return only CREATE FOREIGN TABLE statements, so the table and
-- column comments are added here, right after IMPORT FOREIGN SCHEMA creates the table. The texts
-- come from the table's one declaration in src/table.rs (alicloud_fdw_table_comments()).
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
    JOIN pg_class r ON r.oid = e.objid
    WHERE e.command_tag = 'CREATE FOREIGN TABLE'
      AND w.fdwname = 'alicloud_fdw'
      AND r.relname = 'alicloud_action_trail'
  LOOP
    FOR c IN SELECT * FROM alicloud_fdw_table_comments() LOOP
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
