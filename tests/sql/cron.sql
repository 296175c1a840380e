-- One real pg_cron run of the scheduled compliance job, waited for (pg_cron's schedules have
-- one-minute granularity, in GMT): the cluster of scripts/test.sh preloads pg_cron for this
-- database, with background workers. Uses the server comp of tests/sql/compliance.sql.
\! mock-admin clear-faults
CREATE EXTENSION pg_cron;
DELETE FROM alicloud_compliance.run;
SELECT cron.schedule('alicloud-compliance', '* * * * *',
  $$CALL alicloud_compliance.run('comp.alicloud_action_trail')$$) > 0 AS scheduled;
-- The cleanup of the history and of pg_cron's own job_run_details, daily.
SELECT cron.schedule('alicloud-compliance-cleanup', '17 3 * * *',
  $$SELECT alicloud_compliance.cleanup('90 days')$$) > 0 AS scheduled;
SELECT jobname, schedule, command FROM cron.job ORDER BY jobid;
-- Waits for the next minute's run to end (at most 90 seconds).
DO $$
BEGIN
  FOR i IN 1..180 LOOP
    EXIT WHEN EXISTS (SELECT FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                      WHERE j.jobname = 'alicloud-compliance' AND d.status IN ('succeeded', 'failed'));
    PERFORM pg_sleep(0.5);
  END LOOP;
END
$$;
SELECT cron.unschedule('alicloud-compliance');
-- pg_cron keeps only the command tag; the history keeps what happened.
SELECT status, return_message FROM cron.job_run_details ORDER BY runid;
SELECT source, status, accounts, failed_accounts, trail_rows > 0 AS read_trails,
       regress_mask(message) AS message
  FROM alicloud_compliance.run ORDER BY run_id;
SELECT control_id, ok, alarm, info, skipped, error, exit_status
  FROM alicloud_compliance.run_summary();
-- The daily cleanup, run now with nothing kept: the runs and pg_cron's job_run_details go.
SELECT alicloud_compliance.cleanup('0 seconds') AS runs_deleted;
SELECT count(*) AS job_run_details FROM cron.job_run_details;
SELECT cron.unschedule('alicloud-compliance-cleanup');
