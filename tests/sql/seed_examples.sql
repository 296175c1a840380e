-- The four Postgres example queries of the table page, verbatim.
select
  name,
  home_region,
  event_rw,
  status,
  trail_region
from
  alicloud_action_trail;

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

select
  name,
  region,
  home_region
from
  alicloud_action_trail
where
  trail_region = 'All'
  and home_region <> region;
