-- Every column, in every type, from the mock's fixture (time fields arrive in four formats).
SET timezone = 'UTC';
\x on
SELECT * FROM alicloud_action_trail WHERE region = 'cn-beijing' ORDER BY name;
\x off
SELECT name, region, create_time, update_time, start_logging_time, stop_logging_time
  FROM alicloud_action_trail WHERE region = 'cn-hangzhou' ORDER BY name;
SELECT name, region, is_shadow_trail, raw ? 'IsShadowTrail' AS api_flag
  FROM alicloud_action_trail ORDER BY region, name;
SELECT DISTINCT account_id, title, akas FROM alicloud_action_trail ORDER BY title;
SELECT raw -> 'FutureField' AS unknown_field_kept
  FROM alicloud_action_trail WHERE name = 'beijing-all-read' AND region = 'cn-beijing';
-- The connection columns every table ends with, as Steampipe's queries read them: the server's
-- name, which follows a rename.
SELECT DISTINCT sp_connection_name, sp_ctx, _ctx ->> 'connection_name' AS ctx_name
  FROM alicloud_action_trail;
ALTER SERVER alicloud RENAME TO alicloud_prod;
SELECT name, sp_connection_name FROM alicloud_action_trail
  WHERE region = 'cn-beijing' AND _ctx ->> 'connection_name' = 'alicloud_prod' ORDER BY name;
ALTER SERVER alicloud_prod RENAME TO alicloud;
