// Runs a fixed set of checks through a PostgreSQL endpoint with pgjdbc and prints them as
// JSON: simple query, typed parameters, a multi-row result, a server-side prepared
// statement, an error with its SQLSTATE, and the simple query protocol mode.
// Usage: java ClientCheck [--host H] [--port P] [--user U] [--password W] [--dbname D]
//        [--purpose NAME]; PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGW_PURPOSE
//        and PGSSLMODE are used for what is not given.

import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

public final class ClientCheck {
    static final String ROWS_SQL = "SELECT id, name, phone FROM customers ORDER BY id LIMIT 20";
    static final String BY_ID_SQL = "SELECT id, name, phone FROM customers WHERE id = ?";
    static final int LOOKUPS = 5;

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = options(args);
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("client", "jdbc");
        try (Connection conn = connect(opt, "extended")) {
            report.put("driver", conn.getMetaData().getDriverVersion());
            report.put("purpose", scalar(conn, "SHOW privacy.purpose"));
            report.put("simple", firstRow(conn, "SELECT 1 AS one, 'ok'::text AS word"));
            report.put("params", params(conn));
            List<Map<String, Object>> rows = allRows(conn, ROWS_SQL);
            report.put("rows", rows);
            prepared(conn, rows, report);
            report.put("error", error(conn, "SELECT 1/0"));
            report.put("after_error", scalar(conn, "SELECT 1"));
        }
        try (Connection conn = connect(opt, "simple")) {
            Map<String, Object> simple = firstRow(conn, "SELECT 1 AS one, 'ok'::text AS word");
            simple.put("purpose", scalar(conn, "SHOW privacy.purpose"));
            simple.put("rows", allRows(conn, ROWS_SQL).size());
            report.put("simple_protocol", simple);
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        out.println(Json.encode(report));
    }

    static Map<String, String> options(String[] args) {
        Map<String, String> opt = new LinkedHashMap<>();
        opt.put("host", env("PGHOST", "127.0.0.1"));
        opt.put("port", env("PGPORT", "5432"));
        opt.put("user", env("PGUSER", "postgres"));
        opt.put("password", env("PGPASSWORD", ""));
        opt.put("dbname", env("PGDATABASE", "postgres"));
        opt.put("purpose", env("PGW_PURPOSE", ""));
        opt.put("sslmode", env("PGSSLMODE", "prefer"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--") || !opt.containsKey(args[i].substring(2))) {
                throw new IllegalArgumentException("unknown argument " + args[i]);
            }
            opt.put(args[i].substring(2), args[i + 1]);
        }
        return opt;
    }

    static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    static Connection connect(Map<String, String> opt, String queryMode) throws SQLException {
        String url = "jdbc:postgresql://" + opt.get("host") + ":" + opt.get("port") + "/"
                + opt.get("dbname");
        Properties props = new Properties();
        props.setProperty("user", opt.get("user"));
        props.setProperty("password", opt.get("password"));
        props.setProperty("sslmode", opt.get("sslmode"));
        props.setProperty("preferQueryMode", queryMode);
        props.setProperty("ApplicationName", "privacy-gateway-jdbc-check");
        if (!opt.get("purpose").isEmpty()) {
            props.setProperty("options", "-c privacy.purpose=" + opt.get("purpose"));
        }
        return DriverManager.getConnection(url, props);
    }

    static Object scalar(Connection conn, String sql) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getObject(1) : null;
        }
    }

    static Map<String, Object> firstRow(Connection conn, String sql) throws SQLException {
        List<Map<String, Object>> rows = allRows(conn, sql);
        return rows.isEmpty() ? new LinkedHashMap<>() : rows.get(0);
    }

    static List<Map<String, Object>> allRows(Connection conn, String sql) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return collect(rs);
        }
    }

    static List<Map<String, Object>> collect(ResultSet rs) throws SQLException {
        ResultSetMetaData meta = rs.getMetaData();
        List<Map<String, Object>> rows = new ArrayList<>();
        while (rs.next()) {
            Map<String, Object> row = new LinkedHashMap<>();
            for (int i = 1; i <= meta.getColumnCount(); i++) {
                row.put(meta.getColumnLabel(i), rs.getObject(i));
            }
            rows.add(row);
        }
        return rows;
    }

    static Map<String, Object> params(Connection conn) throws SQLException {
        String sql = "SELECT ?::int * 2 AS doubled, ?::text AS echo, ?::numeric AS amount";
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            ps.setInt(1, 21);
            ps.setString(2, "你好");
            ps.setBigDecimal(3, new BigDecimal("12.50"));
            try (ResultSet rs = ps.executeQuery()) {
                Map<String, Object> row = collect(rs).get(0);
                row.put("amount", ((BigDecimal) row.get("amount")).toPlainString());
                return row;
            }
        }
    }

    // Looks up the first rows again by id with one named server-side prepared statement.
    static void prepared(Connection conn, List<Map<String, Object>> rows,
                         Map<String, Object> report) throws SQLException {
        List<Map<String, Object>> found = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement(BY_ID_SQL)) {
            org.postgresql.PGStatement pg = ps.unwrap(org.postgresql.PGStatement.class);
            pg.setPrepareThreshold(1);
            for (Map<String, Object> row : rows.subList(0, Math.min(LOOKUPS, rows.size()))) {
                ps.setLong(1, ((Number) row.get("id")).longValue());
                try (ResultSet rs = ps.executeQuery()) {
                    found.addAll(collect(rs));
                }
            }
            report.put("prepared", found);
            report.put("server_prepared", pg.isUseServerPrepare());
        }
    }

    static Map<String, Object> error(Connection conn, String sql) {
        Map<String, Object> err = new LinkedHashMap<>();
        try (Statement st = conn.createStatement()) {
            st.executeQuery(sql).close();
            err.put("sqlstate", null);
        } catch (SQLException e) {
            err.put("sqlstate", e.getSQLState());
            err.put("message", e.getMessage());
        }
        return err;
    }

    // Just enough JSON for maps, lists, strings, numbers, booleans and null.
    static final class Json {
        static String encode(Object value) {
            StringBuilder out = new StringBuilder();
            write(out, value);
            return out.toString();
        }

        static void write(StringBuilder out, Object value) {
            if (value == null) {
                out.append("null");
            } else if (value instanceof Map<?, ?> map) {
                out.append('{');
                String sep = "";
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    out.append(sep);
                    string(out, String.valueOf(e.getKey()));
                    out.append(':');
                    write(out, e.getValue());
                    sep = ",";
                }
                out.append('}');
            } else if (value instanceof List<?> list) {
                out.append('[');
                for (int i = 0; i < list.size(); i++) {
                    out.append(i == 0 ? "" : ",");
                    write(out, list.get(i));
                }
                out.append(']');
            } else if (value instanceof Number || value instanceof Boolean) {
                out.append(value);
            } else {
                string(out, value.toString());
            }
        }

        static void string(StringBuilder out, String s) {
            out.append('"');
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    default -> out.append(c < 0x20 ? String.format("\\u%04x", (int) c) : c);
                }
            }
            out.append('"');
        }
    }
}
