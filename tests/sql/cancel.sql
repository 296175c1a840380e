-- A region that never answers: statement_timeout and pg_cancel_backend stop the wait at once,
-- and the session stays usable.
\! mock-admin fault cn-shenzhen '{"hang":true}'
SET statement_timeout = '300ms';
SELECT count(*) FROM alicloud_action_trail;
RESET statement_timeout;
-- A cancel from another session, once the query is waiting (polled for up to 10 s, so a slow
-- machine cannot make the cancel miss it).
\! (sleep 0.3; for i in $(seq 100); do n=$(psql -X -At -d "$PGDATABASE" -c "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT count(*) FROM alicloud_action_trail /* cancel me */%'"); [ "$n" = 1 ] && break; sleep 0.1; done) >/dev/null 2>&1 &
SELECT count(*) FROM alicloud_action_trail /* cancel me */;
\! mock-admin clear-faults
SELECT count(*) FROM alicloud_action_trail;
