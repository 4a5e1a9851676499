package dev.robusto.metrics;

/** A metric that could not be read, with what to fix (the query, the server, the settings). */
public class MetricUnavailableException extends Exception {

  public MetricUnavailableException(String message) {
    super(message);
  }
}
