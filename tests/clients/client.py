"""What a Python script or BI tool does over psycopg 3: see tests/clients/README.md.

Prints a transcript that tests/clients/run.sh compares with expected.out (the same for every
client). Connection settings come from the environment (CLIENTS_*), the mock's address from
MOCK_URL.
"""
import os
import urllib.request
from datetime import timezone

import psycopg

TABLE = "clients.alicloud_action_trail"
CONTROL = (
    "SELECT control_id, account_id, status "
    "FROM alicloud_compliance.actiontrail_enabled(%s, %s::text[])"
)


def mock(path, method="GET"):
    request = urllib.request.Request(os.environ["MOCK_URL"] + path, method=method)
    with urllib.request.urlopen(request) as answer:
        return answer.read().decode()


def main():
    conn = psycopg.connect(
        host="127.0.0.1",
        port=os.environ["CLIENTS_PORT"],
        dbname=os.environ["CLIENTS_DATABASE"],
        user="bi_reader",
        password=os.environ["CLIENTS_PASSWORD"],
        autocommit=True,
    )
    user = conn.execute("SELECT current_user").fetchone()[0]
    print(f"connected as {user} over TCP with a password")

    # Introspection, as a BI tool does it.
    columns = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'clients' AND table_name = 'alicloud_action_trail'"
        " AND column_name IN ('account_id', 'create_time', 'is_organization_trail', 'raw', 'status')"
        " ORDER BY column_name"
    ).fetchall()
    print("columns: " + ", ".join(f"{n} {t}" for n, t in columns))
    comment = conn.execute(
        "SELECT col_description(%s::regclass, a.attnum) FROM pg_attribute a"
        " WHERE a.attrelid = %s::regclass AND a.attname = 'status'",
        (TABLE, TABLE),
    ).fetchone()[0]
    print(f"comment on status: {comment}")
    print("comment on table: " + conn.execute(
        "SELECT obj_description(%s::regclass, 'pg_class')", (TABLE,)).fetchone()[0])

    # A control with a bound parameter, as a server-side prepared statement, past the point
    # where PostgreSQL switches to a generic plan; the account filter still reaches the API.
    with conn.cursor() as cur:
        for i in range(1, 9):
            if i == 8:
                mock("/_admin/calls", method="DELETE")
            cur.execute(CONTROL, (TABLE, ["2222222222222222"]), prepare=True)
            for control_id, account_id, status in cur.fetchall():
                print(f"execution {i}: {control_id} {account_id} {status}")
    calls = mock("/_admin/calls?format=text").splitlines()
    describe = sum(1 for c in calls if " DescribeTrails" in c)
    assume = sum(1 for c in calls if " AssumeRole" in c)
    print(f"calls of execution 8: {describe} DescribeTrails, {assume} AssumeRole")
    generic = conn.execute(
        "SELECT generic_plans > 0 FROM pg_prepared_statements"
        " WHERE statement LIKE '%actiontrail_enabled%'"
    ).fetchone()[0]
    print(f"server-side prepared statement, generic plan used: {str(generic).lower()}")

    # Values in the client's own types.
    created, organization, raw = conn.execute(
        f"SELECT create_time, is_organization_trail, raw FROM {TABLE}"
        " WHERE name = 'acme-prod-trail' AND region = home_region"
    ).fetchone()
    assert created.tzinfo is not None
    print("create_time: " + created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
          + " (a timestamp with a time zone)")
    assert isinstance(organization, bool)
    print(f"is_organization_trail: {str(organization).lower()} (a boolean)")
    assert isinstance(raw, dict)
    print(f"raw: Name = {raw['Name']}, EventRW = {raw['EventRW']} (a JSON object)")

    # A bad credential: an error a person can act on.
    try:
        conn.execute("SELECT count(*) FROM clients_bad.alicloud_action_trail")
        print("bad credential: no error")
    except psycopg.Error as e:
        # The API's message goes on with the string it signed (a nonce, a time): cut there.
        message = (e.diag.message_primary or "").split(" server string to sign")[0]
        print(f"bad credential: SQLSTATE {e.sqlstate}: {message}")
        print(f"bad credential hint: {e.diag.message_hint}")


if __name__ == "__main__":
    main()
