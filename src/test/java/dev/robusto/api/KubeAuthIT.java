package dev.robusto.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.robusto.testing.LocalCluster;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import jakarta.ws.rs.WebApplicationException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * How the HTTP APIs' authentication and authorization cache behaves against a real kube-apiserver,
 * on a clock the test moves: a caller in use is answered from the cache while the API server is
 * asked again in the background, and what the API server answers then (a withdrawn grant, a deleted
 * ServiceAccount) is enforced before the cached answer would have expired.
 */
@Tag("cluster")
class KubeAuthIT {

  private static final String NAMESPACE = "kube-auth-it";

  private final KubernetesClient client = LocalCluster.get().client();
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  // The threads KubeAuth's SubjectAccessReviews were sent from: the caller's, or a refresher's.
  private final List<String> reviewsFrom = new CopyOnWriteArrayList<>();
  private final KubeAuth auth =
      new KubeAuth(
          new KubernetesClientBuilder()
              .withConfig(LocalCluster.get().config())
              .withHttpClientBuilderConsumer(
                  b ->
                      b.addOrReplaceInterceptor(
                          "count-access-reviews",
                          new Interceptor() {
                            @Override
                            public void before(
                                BasicBuilder builder, HttpRequest request, RequestTags tags) {
                              if (request.uri().getPath().endsWith("/subjectaccessreviews")) {
                                reviewsFrom.add(Thread.currentThread().getName());
                              }
                            }
                          }))
              .build(),
          10,
          now::get);
  private String caller;

  @BeforeEach
  void aServiceAccountThatMayGetBatches() {
    var ns = client.namespaces().withName(NAMESPACE);
    if (ns.get() == null) {
      client
          .resource(
              new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata().build())
          .create();
    }
    var account = "caja-" + Long.toHexString(System.nanoTime());
    client
        .resource(
            new ServiceAccountBuilder()
                .withNewMetadata()
                .withName(account)
                .withNamespace(NAMESPACE)
                .endMetadata()
                .build())
        .create();
    client
        .resource(
            new RoleBuilder()
                .withNewMetadata()
                .withName(account)
                .withNamespace(NAMESPACE)
                .endMetadata()
                .addNewRule()
                .withApiGroups("robusto.dev")
                .withResources("automationbatches")
                .withVerbs("get")
                .endRule()
                .build())
        .create();
    client
        .resource(
            new RoleBindingBuilder()
                .withNewMetadata()
                .withName(account)
                .withNamespace(NAMESPACE)
                .endMetadata()
                .withNewRoleRef("rbac.authorization.k8s.io", "Role", account)
                .addNewSubject()
                .withKind("ServiceAccount")
                .withName(account)
                .withNamespace(NAMESPACE)
                .endSubject()
                .build())
        .create();
    caller = account;
  }

  @AfterEach
  void removeTheServiceAccount() {
    client.rbac().roleBindings().inNamespace(NAMESPACE).withName(caller).delete();
    client.rbac().roles().inNamespace(NAMESPACE).withName(caller).delete();
    client.serviceAccounts().inNamespace(NAMESPACE).withName(caller).delete();
  }

  @Test
  void aGrantInUseIsAskedAgainInTheBackgroundSoNoCallWaitsAndAWithdrawalIsRefusedBeforeItExpires() {
    var user = auth.authenticate(bearer());
    awaitApiServerSays(true);
    var test = Thread.currentThread().getName();
    auth.allow(user, "get", "automationbatches", null, NAMESPACE);
    assertThat(reviewsFrom).as("the first call asks the API server").containsExactly(test);

    // Due (past 20 s), not expired (30 s): answered from memory, asked again in the background.
    advance(Duration.ofSeconds(21));
    auth.allow(user, "get", "automationbatches", null, NAMESPACE);
    await().atMost(Duration.ofSeconds(20)).until(() -> !auth.refreshPending());
    // Past the first answer's 30 s: the refreshed one serves, and no call waited on a review.
    advance(Duration.ofSeconds(14));
    auth.allow(user, "get", "automationbatches", null, NAMESPACE);
    assertThat(reviewsFrom).hasSize(2).filteredOn(test::equals).hasSize(1);

    client.rbac().roleBindings().inNamespace(NAMESPACE).withName(caller).delete();
    awaitApiServerSays(false);
    // The refreshed grant (asked at 21 s) is due at 41 s and expires at 51 s: the call at 42 s is
    // answered from memory; the refusal it sets off replaces the grant before the clock gets there.
    advance(Duration.ofSeconds(7));
    auth.allow(user, "get", "automationbatches", null, NAMESPACE);
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () ->
                assertThat(
                        refusal(
                            () -> auth.allow(user, "get", "automationbatches", null, NAMESPACE)))
                    .returns(403, KubeAuth.Problem::status)
                    .extracting(KubeAuth.Problem::detail)
                    .asString()
                    .contains("may not get automationbatches in namespace " + NAMESPACE));
    assertThat(reviewsFrom).filteredOn(test::equals).hasSize(1);
  }

  @Test
  void aDeletedServiceAccountsTokenIsRefusedBeforeItsCachedIdentityExpires() {
    var token = bearer();
    assertThat(auth.authenticate(token).getUsername())
        .isEqualTo("system:serviceaccount:" + NAMESPACE + ":" + caller);

    client.serviceAccounts().inNamespace(NAMESPACE).withName(caller).delete();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                !Boolean.TRUE.equals(
                    client
                        .authentication()
                        .v1()
                        .tokenReviews()
                        .create(
                            new TokenReviewBuilder()
                                .withNewSpec()
                                .withToken(token.substring("Bearer ".length()))
                                .endSpec()
                                .build())
                        .getStatus()
                        .getAuthenticated()));
    // Due (past 40 s), not expired (60 s): answered from memory, reviewed again in the background.
    advance(Duration.ofSeconds(41));
    assertThat(auth.authenticate(token).getUsername()).endsWith(":" + caller);
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () ->
                assertThat(refusal(() -> auth.authenticate(token)))
                    .returns(401, KubeAuth.Problem::status));
  }

  /** The problem+json a call was refused with. */
  private static KubeAuth.Problem refusal(Runnable call) {
    var thrown = catchThrowableOfType(WebApplicationException.class, call::run);
    assertThat(thrown).as("refused").isNotNull();
    return (KubeAuth.Problem) thrown.getResponse().getEntity();
  }

  private String bearer() {
    var token =
        client
            .serviceAccounts()
            .inNamespace(NAMESPACE)
            .withName(caller)
            .tokenRequest(
                new TokenRequestBuilder()
                    .withNewSpec()
                    .withExpirationSeconds(3600L)
                    .endSpec()
                    .build())
            .getStatus()
            .getToken();
    return "Bearer " + token;
  }

  private void advance(Duration by) {
    now.addAndGet(by.toNanos());
  }

  /** RBAC changes reach the API server's authorizer through its informers: waits until they did. */
  private void awaitApiServerSays(boolean allowed) {
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                client
                        .authorization()
                        .v1()
                        .subjectAccessReview()
                        .create(
                            new SubjectAccessReviewBuilder()
                                .withNewSpec()
                                .withUser("system:serviceaccount:" + NAMESPACE + ":" + caller)
                                .withNewResourceAttributes()
                                .withGroup("robusto.dev")
                                .withResource("automationbatches")
                                .withVerb("get")
                                .withNamespace(NAMESPACE)
                                .endResourceAttributes()
                                .endSpec()
                                .build())
                        .getStatus()
                        .getAllowed()
                    == allowed);
  }
}
