package dev.robusto.api;

import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/**
 * Who may call the batch API: the caller's Kubernetes bearer token is checked with a TokenReview,
 * and what it wants to do with a SubjectAccessReview, so the API grants exactly what the caller's
 * RBAC grants on the AutomationBatch resource (as kubectl would).
 */
@ApplicationScoped
public class KubeAuth {

  private final KubernetesClient client;

  KubeAuth(KubernetesClient client) {
    this.client = client;
  }

  /** Returns the caller's user name, or throws 401 or 403 with a message saying why. */
  public String authorize(String authorization, String verb, String namespace) {
    var user = authenticate(authorization);
    var access =
        client
            .authorization()
            .v1()
            .subjectAccessReview()
            .create(
                new SubjectAccessReviewBuilder()
                    .withNewSpec()
                    .withUser(user.getUsername())
                    .withGroups(user.getGroups())
                    .withUid(user.getUid())
                    .withNewResourceAttributes()
                    .withGroup("robusto.dev")
                    .withResource("automationbatches")
                    .withVerb(verb)
                    .withNamespace(namespace)
                    .endResourceAttributes()
                    .endSpec()
                    .build());
    if (access.getStatus() == null || !Boolean.TRUE.equals(access.getStatus().getAllowed())) {
      throw refuse(
          403,
          "%s may not %s automationbatches in namespace %s."
              .formatted(user.getUsername(), verb, namespace));
    }
    return user.getUsername();
  }

  /** Who the bearer token belongs to, or 401. */
  public UserInfo authenticate(String authorization) {
    if (authorization == null || !authorization.startsWith("Bearer ")) {
      throw refuse(401, "Send a Kubernetes bearer token: Authorization: Bearer <token>.");
    }
    var review =
        client
            .authentication()
            .v1()
            .tokenReviews()
            .create(
                new TokenReviewBuilder()
                    .withNewSpec()
                    .withToken(authorization.substring("Bearer ".length()))
                    .endSpec()
                    .build());
    if (review.getStatus() == null || !Boolean.TRUE.equals(review.getStatus().getAuthenticated())) {
      throw refuse(401, "The bearer token is not valid in this cluster.");
    }
    return review.getStatus().getUser();
  }

  static WebApplicationException refuse(int status, String message) {
    return new WebApplicationException(
        Response.status(status)
            .type(MediaType.APPLICATION_JSON)
            .entity(new Problem(message))
            .build());
  }

  /** An error body: what went wrong and what to do. */
  public record Problem(String message) {}
}
