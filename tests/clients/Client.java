// What a Java program or JDBC-based BI tool does over pgJDBC: see tests/clients/README.md.
// Prints the transcript tests/clients/run.sh compares with expected.out (the same for every client).
// Run with the source launcher: java -cp /usr/share/java/postgresql.jar Client.java

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Properties;
import org.postgresql.util.PGobject;
import org.postgresql.util.PSQLException;

public class Client {
    static final String TABLE = "clients.alicloud_action_trail";
    static final String CONTROL = "SELECT control_id, account_id, status"
        + " FROM alicloud_compliance.actiontrail_enabled(?, ?::text[])";
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static String mock(String path, String method) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(System.getenv("MOCK_URL") + path))
            .method(method, HttpRequest.BodyPublishers.noBody()).build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString()).body();
    }

    static String one(Connection conn, String sql, String... params) throws SQLException {
        try (PreparedStatement st = conn.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                st.setString(i + 1, params[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", "bi_reader");
        props.setProperty("password", System.getenv("CLIENTS_PASSWORD"));
        // Server-side prepared statements from the first execution.
        props.setProperty("prepareThreshold", "1");
        String url = "jdbc:postgresql://127.0.0.1:" + System.getenv("CLIENTS_PORT") + "/"
            + System.getenv("CLIENTS_DATABASE");
        try (Connection conn = DriverManager.getConnection(url, props)) {
            System.out.println("connected as " + one(conn, "SELECT current_user")
                + " over TCP with a password");

            // Introspection, as a BI tool does it.
            StringBuilder columns = new StringBuilder();
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT column_name, data_type FROM information_schema.columns"
                     + " WHERE table_schema = 'clients' AND table_name = 'alicloud_action_trail'"
                     + " AND column_name IN ('account_id', 'create_time', 'is_organization_trail', 'raw', 'status')"
                     + " ORDER BY column_name")) {
                while (rs.next()) {
                    columns.append(columns.length() == 0 ? "" : ", ")
                        .append(rs.getString(1)).append(' ').append(rs.getString(2));
                }
            }
            System.out.println("columns: " + columns);
            System.out.println("comment on status: " + one(conn,
                "SELECT col_description(?::regclass, a.attnum) FROM pg_attribute a"
                + " WHERE a.attrelid = ?::regclass AND a.attname = 'status'", TABLE, TABLE));
            System.out.println("comment on table: " + one(conn,
                "SELECT obj_description(?::regclass, 'pg_class')", TABLE));

            // A control with a bound parameter, as a server-side prepared statement, past the
            // point where PostgreSQL switches to a generic plan; the account filter still
            // reaches the API.
            try (PreparedStatement st = conn.prepareStatement(CONTROL)) {
                Array accounts = conn.createArrayOf("text", new String[] {"2222222222222222"});
                for (int i = 1; i <= 8; i++) {
                    if (i == 8) {
                        mock("/_admin/calls", "DELETE");
                    }
                    st.setString(1, TABLE);
                    st.setArray(2, accounts);
                    try (ResultSet rs = st.executeQuery()) {
                        while (rs.next()) {
                            System.out.println("execution " + i + ": " + rs.getString(1) + " "
                                + rs.getString(2) + " " + rs.getString(3));
                        }
                    }
                }
                long describe = 0;
                long assume = 0;
                for (String call : mock("/_admin/calls?format=text", "GET").split("\n")) {
                    describe += call.contains(" DescribeTrails") ? 1 : 0;
                    assume += call.contains(" AssumeRole") ? 1 : 0;
                }
                System.out.println("calls of execution 8: " + describe + " DescribeTrails, "
                    + assume + " AssumeRole");
                System.out.println("server-side prepared statement, generic plan used: " + one(conn,
                    "SELECT (generic_plans > 0)::text FROM pg_prepared_statements"
                    + " WHERE statement LIKE '%actiontrail_enabled%'"));
            }

            // Values in the client's own types.
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT create_time, is_organization_trail, raw FROM "
                     + TABLE + " WHERE name = 'acme-prod-trail' AND region = home_region")) {
                rs.next();
                OffsetDateTime created = rs.getObject(1, OffsetDateTime.class);
                System.out.println("create_time: "
                    + created.withOffsetSameInstant(ZoneOffset.UTC)
                        .format(DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'"))
                    + " (a timestamp with a time zone)");
                Object organization = rs.getObject(2);
                if (!(organization instanceof Boolean)) {
                    throw new AssertionError("not a Boolean: " + organization);
                }
                System.out.println("is_organization_trail: " + organization + " (a boolean)");
                PGobject raw = (PGobject) rs.getObject(3);
                if (!"jsonb".equals(raw.getType())) {
                    throw new AssertionError("not jsonb: " + raw.getType());
                }
                // JDBC has no JSON type: the jsonb value's fields, read by the server.
                System.out.println("raw: Name = " + one(conn, "SELECT ?::jsonb ->> 'Name'", raw.getValue())
                    + ", EventRW = " + one(conn, "SELECT ?::jsonb ->> 'EventRW'", raw.getValue())
                    + " (a JSON object)");
            }

            // A bad credential: an error a person can act on.
            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELECT count(*) FROM clients_bad.alicloud_action_trail");
                System.out.println("bad credential: no error");
            } catch (PSQLException e) {
                // The API's message goes on with the string it signed (a nonce, a time): cut there.
                String message = e.getServerErrorMessage().getMessage()
                    .split(" server string to sign")[0];
                System.out.println("bad credential: SQLSTATE " + e.getSQLState() + ": " + message);
                System.out.println("bad credential hint: " + e.getServerErrorMessage().getHint());
            }
        }
    }
}
