-- The four Postgres example queries of the table page, verbatim. scripts/demo.sh runs this file.

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
  is_organization_trail;

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
