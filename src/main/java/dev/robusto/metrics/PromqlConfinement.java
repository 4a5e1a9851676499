package dev.robusto.metrics;

/**
 * Confines a PromQL query written by a tenant to the series of its own namespace: every vector
 * selector gets the matcher {@code namespace="<ns>"} added, which PromQL ANDs with the selector's
 * own matchers, so no matcher the tenant writes (not even {@code namespace=~".*"}) widens it.
 *
 * <p>This is a lexer, not a parser: it recognises selectors by what surrounds them and refuses any
 * character or construct it does not understand (comments, control characters in strings). It is
 * not trusted alone: {@link PrometheusQueries#queryInNamespace} has Prometheus parse the result and
 * refuses it unless every selector of that parse carries the matcher.
 */
public final class PromqlConfinement {

  /** Aggregations take a grouping clause before their parentheses: {@code sum by (x) (...)}. */
  private static final java.util.Set<String> AGGREGATIONS =
      java.util.Set.of(
          "sum",
          "min",
          "max",
          "avg",
          "group",
          "stddev",
          "stdvar",
          "count",
          "count_values",
          "bottomk",
          "topk",
          "quantile",
          "limitk",
          "limit_ratio");

  /** Keywords followed by a parenthesised list of label names, not of expressions. */
  private static final java.util.Set<String> LABEL_LISTS =
      java.util.Set.of("by", "without", "on", "ignoring", "group_left", "group_right");

  /** Words that are operators or literals, never metric names. */
  private static final java.util.Set<String> WORDS =
      java.util.Set.of("and", "or", "unless", "atan2", "bool", "offset", "inf", "nan");

  private static final String OPERATORS = "+-*/%^=!<>,()@";

  private final String query;
  private final String matcher;
  private final StringBuilder out = new StringBuilder();
  private int at;

  private PromqlConfinement(String query, String label, String namespace) {
    this.query = query;
    this.matcher = label + "=\"" + namespace + "\"";
  }

  /**
   * The query with every selector confined to {@code namespace} by the label {@code label}.
   *
   * @throws IllegalArgumentException naming what could not be read, when the query cannot be
   *     confined
   */
  public static String confine(String query, String label, String namespace) {
    if (!namespace.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?")
        || !label.matches("[a-zA-Z_][a-zA-Z0-9_]*")) {
      throw new IllegalArgumentException("not a namespace or label name");
    }
    var confinement = new PromqlConfinement(query, label, namespace);
    confinement.rewrite();
    return confinement.out.toString();
  }

  private void rewrite() {
    while (at < query.length()) {
      var c = query.charAt(at);
      if (Character.isWhitespace(c)) {
        out.append(c);
        at++;
      } else if (c == '"' || c == '\'' || c == '`') {
        copyString();
      } else if (c == '{') {
        copySelectorMatchers();
      } else if (c == '[') {
        copyUntil(']');
      } else if (isDigit(c) || (c == '.' && at + 1 < query.length() && isDigit(next(1)))) {
        copyNumber();
      } else if (isIdentifierStart(c)) {
        word();
      } else if (OPERATORS.indexOf(c) >= 0) {
        out.append(c);
        at++;
      } else {
        throw refused("the character '" + c + "' at position " + at);
      }
    }
  }

  private void word() {
    var start = at;
    while (at < query.length() && isIdentifierPart(query.charAt(at))) {
      at++;
    }
    var word = query.substring(start, at);
    out.append(word);
    var lower = word.toLowerCase(java.util.Locale.ROOT);
    var following = nextSignificant();
    if (LABEL_LISTS.contains(lower) && following == '(') {
      copyWhitespace();
      copyUntil(')');
    } else if (lower.startsWith("group_")) {
      // group_left and group_right may come without a label list.
    } else if (WORDS.contains(lower) || following == '(') {
      // An operator, a literal, or a function or aggregation applied to what follows.
    } else if (AGGREGATIONS.contains(lower) && startsLabelList()) {
      // sum by (...) (...): the grouping clause comes next.
    } else if (following == '{') {
      copyWhitespace();
      copySelectorMatchers();
    } else {
      out.append('{').append(matcher).append('}');
    }
  }

  /** Copies {@code {...}} with the confining matcher first; strings inside are copied whole. */
  private void copySelectorMatchers() {
    out.append('{').append(matcher);
    at++;
    var empty = nextSignificant() == '}';
    if (!empty) {
      out.append(',');
    }
    while (at < query.length() && query.charAt(at) != '}') {
      var c = query.charAt(at);
      if (c == '"' || c == '\'' || c == '`') {
        copyString();
      } else if (isIdentifierPart(c) || c == ' ' || "=!~,".indexOf(c) >= 0) {
        out.append(c);
        at++;
      } else {
        throw refused("the character '" + c + "' inside a selector at position " + at);
      }
    }
    if (at >= query.length()) {
      throw refused("a selector that is never closed");
    }
    out.append('}');
    at++;
  }

  private void copyString() {
    var quote = query.charAt(at);
    var start = at++;
    while (at < query.length() && query.charAt(at) != quote) {
      if (query.charAt(at) < ' ') {
        throw refused("a control character in a string at position " + at);
      }
      at += query.charAt(at) == '\\' && quote != '`' ? 2 : 1;
    }
    if (at >= query.length()) {
      throw refused("a string that is never closed");
    }
    at++;
    out.append(query, start, at);
  }

  /** Ranges, subqueries and label lists hold durations and label names only. */
  private void copyUntil(char close) {
    var start = at++;
    while (at < query.length() && query.charAt(at) != close) {
      var c = query.charAt(at);
      if (!(isIdentifierPart(c) || Character.isWhitespace(c) || c == ',' || c == ':')) {
        throw refused("the character '" + c + "' at position " + at);
      }
      at++;
    }
    if (at >= query.length()) {
      throw refused("a '" + query.charAt(start) + "' that is never closed");
    }
    at++;
    out.append(query, start, at);
  }

  private void copyNumber() {
    var start = at;
    while (at < query.length() && (isIdentifierPart(query.charAt(at)) || query.charAt(at) == '.')) {
      at++;
    }
    out.append(query, start, at);
  }

  private void copyWhitespace() {
    while (at < query.length() && Character.isWhitespace(query.charAt(at))) {
      out.append(query.charAt(at++));
    }
  }

  /** The next character that is not whitespace, or 0 at the end. */
  private char nextSignificant() {
    var i = at;
    while (i < query.length() && Character.isWhitespace(query.charAt(i))) {
      i++;
    }
    return i < query.length() ? query.charAt(i) : 0;
  }

  private boolean startsLabelList() {
    var i = at;
    while (i < query.length() && Character.isWhitespace(query.charAt(i))) {
      i++;
    }
    var start = i;
    while (i < query.length() && isIdentifierPart(query.charAt(i))) {
      i++;
    }
    var word = query.substring(start, i).toLowerCase(java.util.Locale.ROOT);
    return word.equals("by") || word.equals("without");
  }

  private char next(int offset) {
    return query.charAt(at + offset);
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isIdentifierStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  }

  private static boolean isIdentifierPart(char c) {
    return isIdentifierStart(c) || isDigit(c);
  }

  private static IllegalArgumentException refused(String what) {
    return new IllegalArgumentException("cannot read " + what);
  }
}
