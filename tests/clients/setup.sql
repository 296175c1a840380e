-- What a DBA sets up for a BI tool or a script: a login role with a password (scram over TCP),
-- its own user mappings, and read access to an organization's trails and to the controls.
\getenv mock_port MOCK_PORT
\getenv key_id MOCK_KEY_ID
\getenv key_secret MOCK_KEY_SECRET
\getenv password CLIENTS_PASSWORD
\set endpoint 'http://127.0.0.1:' :mock_port '/{region}'
\set mock 'http://127.0.0.1:' :mock_port
SET password_encryption = 'scram-sha-256';
CREATE ROLE bi_reader LOGIN PASSWORD :'password';
CREATE SERVER clients_org FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou,cn-beijing,cn-shanghai', endpoint :'endpoint', sts_endpoint :'mock',
           retry_base_delay_ms '20',
           member_accounts '1111111111111111,2222222222222222,3333333333333333',
           member_role_name 'ActionTrailAudit');
CREATE USER MAPPING FOR bi_reader SERVER clients_org
  OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
-- The same keys with a wrong secret: what a rotated key looks like.
CREATE SERVER clients_bad FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint :'endpoint', sts_endpoint :'mock', max_attempts '1');
CREATE USER MAPPING FOR bi_reader SERVER clients_bad
  OPTIONS (access_key_id :'key_id', access_key_secret 'not-the-secret-0123456789');
GRANT USAGE ON FOREIGN SERVER clients_org, clients_bad TO bi_reader;
CREATE SCHEMA clients;
IMPORT FOREIGN SCHEMA alicloud LIMIT TO (alicloud_action_trail) FROM SERVER clients_org INTO clients;
CREATE SCHEMA clients_bad;
IMPORT FOREIGN SCHEMA alicloud LIMIT TO (alicloud_action_trail) FROM SERVER clients_bad INTO clients_bad;
GRANT USAGE ON SCHEMA clients, clients_bad, alicloud_compliance TO bi_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA clients, clients_bad, alicloud_compliance TO bi_reader;
