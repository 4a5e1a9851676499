package dev.robusto.operator;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Runs one SQL statement: prepares it, binds its parameters in order, maps its rows and closes
 * everything, so a store says what it asks and how a row reads instead of repeating how JDBC is
 * driven. Plain JDBC on purpose, nothing cached or generated: a store that needs several statements
 * on one connection (a transaction, a SET LOCAL) passes that connection to the static methods.
 *
 * <p>A parameter binds as {@link PreparedStatement#setObject(int, Object)} binds it, except: a null
 * binds as {@code setString(i, null)} does, a text null ({@link #orNull} gives another type); an
 * {@link Instant} as a {@link Timestamp}, since the driver's setObject refuses an Instant; and
 * {@link #array} as an SQL array made on the statement's connection.
 */
public final class Sql {

  /** Reads the current row; unlike a {@code Function}, it may throw what JDBC throws. */
  @FunctionalInterface
  public interface RowMapper<T> {
    T map(ResultSet rs) throws SQLException;
  }

  /** Statements on one connection, in one transaction. */
  @FunctionalInterface
  public interface ConnectionWork<T> {
    T run(Connection c) throws SQLException;
  }

  private record ArrayOf(String type, Object[] elements) {}

  private record NullOf(int sqlType) {}

  private final DataSource dataSource;

  public Sql(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /** A parameter that binds as an SQL array of {@code type} ("text", "uuid", "bigint"...). */
  /**
   * A role or other name as a double-quoted SQL identifier, for statements that take no parameter.
   */
  public static String quoteIdentifier(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }

  public static Object array(String type, Object[] elements) {
    return new ArrayOf(type, elements);
  }

  /**
   * {@code value}, or if it is null a null of {@code sqlType} (a {@link Types} constant): a plain
   * null is a text null, which a uuid parameter, for one, does not take.
   */
  public static Object orNull(Object value, int sqlType) {
    return value != null ? value : new NullOf(sqlType);
  }

  /** Every row. */
  public <T> List<T> list(String sql, RowMapper<T> mapper, Object... params) throws SQLException {
    try (var c = dataSource.getConnection()) {
      return list(c, sql, mapper, params);
    }
  }

  /** The first row, if there is one. */
  public <T> Optional<T> one(String sql, RowMapper<T> mapper, Object... params)
      throws SQLException {
    try (var c = dataSource.getConnection()) {
      return one(c, sql, mapper, params);
    }
  }

  /** Runs an INSERT, UPDATE or DELETE; returns how many rows it changed. */
  public int update(String sql, Object... params) throws SQLException {
    try (var c = dataSource.getConnection()) {
      return update(c, sql, params);
    }
  }

  /**
   * Runs {@code work} on a connection of its own, in one transaction: committed when it returns,
   * rolled back when it (or the commit) throws an SQLException.
   */
  public <T> T inTransaction(ConnectionWork<T> work) throws SQLException {
    try (var c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        var result = work.run(c);
        c.commit();
        return result;
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
  }

  public static <T> List<T> list(Connection c, String sql, RowMapper<T> mapper, Object... params)
      throws SQLException {
    try (var q = c.prepareStatement(sql)) {
      bind(c, q, params);
      var rows = new ArrayList<T>();
      try (var rs = q.executeQuery()) {
        while (rs.next()) {
          rows.add(mapper.map(rs));
        }
      }
      return rows;
    }
  }

  public static <T> Optional<T> one(Connection c, String sql, RowMapper<T> mapper, Object... params)
      throws SQLException {
    try (var q = c.prepareStatement(sql)) {
      bind(c, q, params);
      try (var rs = q.executeQuery()) {
        return rs.next() ? Optional.of(mapper.map(rs)) : Optional.empty();
      }
    }
  }

  public static int update(Connection c, String sql, Object... params) throws SQLException {
    try (var q = c.prepareStatement(sql)) {
      bind(c, q, params);
      return q.executeUpdate();
    }
  }

  /** Runs a statement for its effect, not its rows: a SELECT FOR UPDATE, a function call. */
  public static void execute(Connection c, String sql, Object... params) throws SQLException {
    try (var q = c.prepareStatement(sql)) {
      bind(c, q, params);
      q.execute();
    }
  }

  /** Runs the statement once for each row of parameters, as one batch; returns their counts. */
  public static int[] batch(Connection c, String sql, List<Object[]> rows) throws SQLException {
    try (var q = c.prepareStatement(sql)) {
      for (var row : rows) {
        bind(c, q, row);
        q.addBatch();
      }
      return q.executeBatch();
    }
  }

  private static void bind(Connection c, PreparedStatement q, Object[] params) throws SQLException {
    for (var i = 0; i < params.length; i++) {
      var param = params[i];
      if (param == null) {
        q.setNull(i + 1, Types.VARCHAR);
      } else if (param instanceof NullOf typed) {
        q.setNull(i + 1, typed.sqlType());
      } else if (param instanceof Instant instant) {
        q.setTimestamp(i + 1, Timestamp.from(instant));
      } else if (param instanceof ArrayOf arrayOf) {
        q.setArray(i + 1, c.createArrayOf(arrayOf.type(), arrayOf.elements()));
      } else {
        q.setObject(i + 1, param);
      }
    }
  }
}
