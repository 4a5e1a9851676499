package dev.robusto.api;

import jakarta.enterprise.context.RequestScoped;

/**
 * Who a ticket API request was authorized for, and in which namespace: set once its access was
 * checked, read by {@link InvoicingCalls} to count the call per caller. A refused request (no
 * token, no access, over its rate) sets nothing, so it adds no per-caller row.
 */
@RequestScoped
public class AuthorizedCaller {

  private String user;
  private String namespace;

  void set(String user, String namespace) {
    this.user = user;
    this.namespace = namespace;
  }

  String user() {
    return user;
  }

  String namespace() {
    return namespace;
  }
}
