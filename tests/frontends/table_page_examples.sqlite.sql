-- The four sql+sqlite example queries of the Steampipe table page, verbatim (each after a
-- comment line naming it). tests/frontends/sqlite.sh runs them in the sqlite3 shell and compares
-- their rows with those of the sql+postgres queries in tests/sql/seed_examples.sql.

-- Basic info
select
  name,
  home_region,
  event_rw,
  status,
  trail_region
from
  alicloud_action_trail;

-- List enabled trails
select
  name,
  home_region,
  event_rw,
  status,
  trail_region
from
  alicloud_action_trail
where
  status = 'Enable';

-- List multi-account trails
select
  name,
  home_region,
  is_organization_trail,
  status,
  trail_region
from
  alicloud_action_trail
where
  is_organization_trail = 1;

-- List shadow trails
select
  name,
  region,
  home_region
from
  alicloud_action_trail
where
  trail_region = 'All'
  and home_region <> region;
