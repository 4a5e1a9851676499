package dev.robusto.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.Test;

/** What the audit webhook makes of a request: which are changes, and how they are named. */
class AdmissionAuditTest {

  // Kinds whose tenant needs no database lookup: a Tenant is its own, a FeatureFlag has none.
  private final AdmissionAudit webhook =
      new AdmissionAudit(
          null, null, null, null, 0, java.util.Optional.empty(), java.util.Optional.empty());

  @Test
  void anUpdateOfMetadataOrStatusOnlyIsNoChange() {
    var finalizer =
        request(
            "UPDATE",
            "Tenant",
            "{\"metadata\": {\"finalizers\": [\"robusto.dev/x\"]}, \"spec\": {\"tier\": \"startup\"},"
                + " \"status\": {\"phase\": \"Ready\"}}",
            "{\"metadata\": {}, \"spec\": {\"tier\": \"startup\"}}");
    assertThat(webhook.entry(finalizer)).isNull();
  }

  @Test
  void aChangeNamesTheUserTheirSortedGroupsAndBothStates() {
    var update =
        request(
            "UPDATE",
            "Tenant",
            "{\"spec\": {\"limits\": {\"b\": 2, \"a\": 1}, \"tier\": \"enterprise\"}}",
            "{\"spec\": {\"tier\": \"startup\"}}");
    var entry = webhook.entry(update);
    assertThat(entry.actor()).isEqualTo("kube:alice");
    assertThat(entry.action()).isEqualTo("update");
    assertThat(entry.resource()).isEqualTo("Tenant/acme");
    assertThat(entry.tenantId()).isEqualTo("acme");
    assertThat(entry.actorGroups()).isEqualTo("[\"a,b\",\"system:authenticated\",\"z\"]");
    assertThat(entry.beforeHash())
        .isEqualTo(AuditCanonical.stateHash("{\"spec\":{\"tier\":\"startup\"}}"));
    // Keys sorted at every depth: the same content hashes the same whatever order it came in.
    assertThat(entry.afterHash())
        .isEqualTo(
            AuditCanonical.stateHash(
                "{\"spec\":{\"limits\":{\"a\":1,\"b\":2},\"tier\":\"enterprise\"}}"));
  }

  @Test
  void aDeleteHasNoAfterStateAndAFlagNoTenant() {
    var delete = request("DELETE", "FeatureFlag", null, "{\"spec\": {\"type\": \"boolean\"}}");
    var entry = webhook.entry(delete);
    assertThat(entry.action()).isEqualTo("delete");
    assertThat(entry.resource()).isEqualTo("FeatureFlag/acme");
    assertThat(entry.tenantId()).isNull();
    assertThat(entry.beforeHash()).isNotNull();
    assertThat(entry.afterHash()).isNull();
  }

  @Test
  void onlyWhatTheApiServerSendsForRobustosKindsIsValid() {
    assertThat(AdmissionAudit.invalid(request("UPDATE", "Tenant", "{}", "{}"))).isNull();
    assertThat(AdmissionAudit.invalid(request("CONNECT", "Tenant", "{}", "{}")))
        .isEqualTo("operation CONNECT");
    assertThat(AdmissionAudit.invalid(request("UPDATE", "Secret", "{}", "{}")))
        .isEqualTo("not a Robusto resource");
    var nul = request("UPDATE", "Tenant", "{}", "{}");
    nul.getUserInfo().setUsername("alice\u0000");
    assertThat(AdmissionAudit.invalid(nul)).isEqualTo("no username, or not a name");
    var many = request("UPDATE", "Tenant", "{}", "{}");
    many.getUserInfo()
        .setGroups(java.util.stream.IntStream.range(0, 65).mapToObj(i -> "g" + i).toList());
    assertThat(AdmissionAudit.invalid(many)).isEqualTo("groups of alice");
  }

  @Test
  void aGeneratedNameIsTakenFromTheObject() {
    var create =
        Serialization.unmarshal(
            """
            {"uid": "u", "kind": {"group": "robusto.dev", "version": "v1alpha1", "kind": "FeatureFlag"},
             "operation": "CREATE", "name": "",
             "userInfo": {"username": "alice", "groups": []},
             "object": {"apiVersion": "robusto.dev/v1alpha1", "kind": "FeatureFlag",
                        "metadata": {"name": "flag-x7k2p"}, "spec": {}}}
            """,
            AdmissionRequest.class);
    assertThat(AdmissionAudit.invalid(create)).isNull();
    assertThat(webhook.entry(create).resource()).isEqualTo("FeatureFlag/flag-x7k2p");
  }

  private static AdmissionRequest request(
      String operation, String kind, String object, String oldObject) {
    return Serialization.unmarshal(
        """
        {"uid": "u", "kind": {"group": "robusto.dev", "version": "v1alpha1", "kind": "%s"},
         "operation": "%s", "name": "acme",
         "userInfo": {"username": "alice", "groups": ["z", "system:authenticated", "a,b"]},
         "object": %s, "oldObject": %s}
        """
            .formatted(kind, operation, object, oldObject),
        AdmissionRequest.class);
  }
}
