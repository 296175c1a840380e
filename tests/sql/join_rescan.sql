-- Joins: the foreign table under a nested loop gives correct rows, and rescans replay the rows
-- fetched once instead of calling the API again.
CREATE TABLE wanted (name text);
INSERT INTO wanted VALUES ('test-4'), ('beijing-disabled'), ('no-such-trail');
ANALYZE wanted;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
EXPLAIN (COSTS OFF)
SELECT w.name, t.region FROM wanted w JOIN alicloud_action_trail t ON t.name = w.name
 WHERE t.region IN ('cn-hangzhou', 'cn-beijing');
\! mock-admin reset-calls
SELECT w.name, t.region FROM wanted w JOIN alicloud_action_trail t ON t.name = w.name
 WHERE t.region IN ('cn-hangzhou', 'cn-beijing') ORDER BY 1, 2;
-- One call per region for the whole join, however many rescans.
\! mock-admin calls
-- A LATERAL subquery keeps the foreign scan on the inner side: it is rescanned for every outer row
-- (its pushed-down quals do not change), and each rescan replays the rows of the one call made.
\! mock-admin reset-calls
EXPLAIN (COSTS OFF)
SELECT g, c.n FROM generate_series(1, 3) g,
  LATERAL (SELECT count(*) AS n FROM alicloud_action_trail t
           WHERE t.region = 'cn-shanghai' AND g > 0) c ORDER BY g;
SELECT g, c.n FROM generate_series(1, 3) g,
  LATERAL (SELECT count(*) AS n FROM alicloud_action_trail t
           WHERE t.region = 'cn-shanghai' AND g > 0) c ORDER BY g;
\! mock-admin calls
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
DROP TABLE wanted;
