-- A region that never answers: statement_timeout and pg_cancel_backend stop the wait at once,
-- and the session stays usable.
\! curl -s -o /dev/null -X PUT "http://127.0.0.1:$MOCK_PORT/_admin/faults/cn-shenzhen" -d '{"hang":true}'
SET statement_timeout = '300ms';
SELECT count(*) FROM alicloud_action_trail;
RESET statement_timeout;
-- A cancel from another session, 300 ms into the wait.
\! (sleep 0.3; psql -X -q -d "$PGDATABASE" -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT count(*) FROM alicloud_action_trail /* cancel me */%'" >/dev/null) &
SELECT count(*) FROM alicloud_action_trail /* cancel me */;
\! curl -s -o /dev/null -X DELETE "http://127.0.0.1:$MOCK_PORT/_admin/faults"
SELECT count(*) FROM alicloud_action_trail;
