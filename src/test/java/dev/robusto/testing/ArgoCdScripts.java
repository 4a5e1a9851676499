package dev.robusto.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Map;
import java.util.TreeMap;
import org.luaj.vm2.Globals;
import org.luaj.vm2.LoadState;
import org.luaj.vm2.LuaInteger;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.compiler.LuaC;
import org.luaj.vm2.lib.PackageLib;
import org.luaj.vm2.lib.TableLib;
import org.luaj.vm2.lib.jse.JseBaseLib;
import org.yaml.snakeyaml.Yaml;

/**
 * Runs the Argo CD scripts a platform team pastes into argocd-cm ({@code
 * examples/gitops/argocd/argocd-cm.yaml}) as Argo CD does: the object as the global {@code obj},
 * with only the base, package and table libraries (Argo CD's sandbox has no string or math), read
 * from the real API server.
 */
public final class ArgoCdScripts {

  /** What Argo CD shows for a resource: Healthy, Progressing, Degraded or Suspended, and why. */
  public record Health(String status, String message) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String GROUP = "robusto.dev";

  private ArgoCdScripts() {}

  /** The argocd-cm snippet's data: each key's value as written. */
  public static Map<String, String> configMapData() {
    var file = LocalCluster.projectDir().resolve("examples/gitops/argocd/argocd-cm.yaml");
    try {
      Map<String, Object> configMap = new Yaml().load(Files.readString(file));
      @SuppressWarnings("unchecked")
      var data = (Map<String, String>) configMap.get("data");
      return new TreeMap<>(data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What Argo CD's health check says of {@code resource} as the API server holds it now. */
  public static Health health(KubernetesClient client, HasMetadata resource) {
    return health(resource.getKind(), read(client, resource));
  }

  /** What Argo CD's health check of {@code kind} says of {@code object}. */
  public static Health health(String kind, JsonNode object) {
    var script = configMapData().get("resource.customizations.health." + GROUP + "_" + kind);
    if (script == null) {
      throw new AssertionError("argocd-cm.yaml has no health check for " + kind);
    }
    var result = run(script, object);
    return new Health(
        result.get("status").optjstring(null), result.get("message").optjstring(null));
  }

  /** Each action Argo CD offers on {@code fleet} now, and whether it is enabled. */
  public static Map<String, Boolean> fleetActions(KubernetesClient client, HasMetadata fleet) {
    var result = run(fleetActionScripts().get("discovery.lua").toString(), read(client, fleet));
    var actions = new TreeMap<String, Boolean>();
    for (var key : result.checktable().keys()) {
      actions.put(key.tojstring(), !result.get(key).get("disabled").optboolean(false));
    }
    return actions;
  }

  /**
   * Runs Argo CD's {@code action} on {@code fleet} and applies what it returns as Argo CD does: a
   * JSON merge patch from the object it read to the object the script returned.
   */
  public static void runFleetAction(KubernetesClient client, HasMetadata fleet, String action) {
    var before = read(client, fleet);
    String script = null;
    for (var definition : (Iterable<?>) fleetActionScripts().get("definitions")) {
      var named = (Map<?, ?>) definition;
      if (action.equals(named.get("name"))) {
        script = named.get("action.lua").toString();
      }
    }
    if (script == null) {
      throw new AssertionError("argocd-cm.yaml defines no fleet action " + action);
    }
    var after = toJson(run(script, before), before);
    resource(client, fleet)
        .patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch(before, after).toString());
  }

  private static Map<?, ?> fleetActionScripts() {
    return new Yaml()
        .load(
            configMapData()
                .get("resource.customizations.actions." + GROUP + "_AutomationDeployment"));
  }

  private static io.fabric8.kubernetes.client.dsl.Resource<GenericKubernetesResource> resource(
      KubernetesClient client, HasMetadata resource) {
    var resources = client.genericKubernetesResources(resource.getApiVersion(), resource.getKind());
    var namespace = resource.getMetadata().getNamespace();
    return namespace == null
        ? resources.withName(resource.getMetadata().getName())
        : resources.inNamespace(namespace).withName(resource.getMetadata().getName());
  }

  private static JsonNode read(KubernetesClient client, HasMetadata resource) {
    var found = resource(client, resource).get();
    if (found == null) {
      throw new AssertionError(
          resource.getKind() + " " + resource.getMetadata().getName() + " is gone");
    }
    return JSON.valueToTree(found);
  }

  private static LuaValue run(String script, JsonNode object) {
    var globals = new Globals();
    globals.load(new JseBaseLib());
    globals.load(new PackageLib());
    globals.load(new TableLib());
    LoadState.install(globals);
    LuaC.install(globals);
    globals.set("obj", toLua(object));
    return globals.load(script, "argocd-script").call();
  }

  private static LuaValue toLua(JsonNode node) {
    if (node.isObject()) {
      var table = new LuaTable();
      node.fields()
          .forEachRemaining(
              field -> {
                if (!field.getValue().isNull()) {
                  table.set(field.getKey(), toLua(field.getValue()));
                }
              });
      return table;
    }
    if (node.isArray()) {
      var table = new LuaTable();
      for (int i = 0; i < node.size(); i++) {
        table.set(i + 1, toLua(node.get(i)));
      }
      return table;
    }
    if (node.isBoolean()) {
      return LuaValue.valueOf(node.booleanValue());
    }
    if (node.isIntegralNumber()) {
      return LuaInteger.valueOf(node.longValue());
    }
    if (node.isNumber()) {
      return LuaValue.valueOf(node.doubleValue());
    }
    return node.isNull() ? LuaValue.NIL : LuaValue.valueOf(node.asText());
  }

  /** A Lua value as JSON; {@code shape} (what was read there, or null) tells arrays from maps. */
  private static JsonNode toJson(LuaValue value, JsonNode shape) {
    var factory = JsonNodeFactory.instance;
    if (value.istable()) {
      var table = value.checktable();
      if ((shape != null && shape.isArray()) || (shape == null && table.length() > 0)) {
        ArrayNode array = factory.arrayNode();
        for (int i = 1; i <= table.length(); i++) {
          array.add(toJson(table.get(i), shape == null ? null : shape.get(i - 1)));
        }
        return array;
      }
      ObjectNode object = factory.objectNode();
      for (var key : table.keys()) {
        var name = key.tojstring();
        object.set(name, toJson(table.get(key), shape == null ? null : shape.get(name)));
      }
      return object;
    }
    if (value.isboolean()) {
      return factory.booleanNode(value.toboolean());
    }
    // Not isnumber(): to Lua, a string of digits (a resourceVersion) is a number too.
    if (value.type() == LuaValue.TNUMBER) {
      return value.isinttype()
          ? factory.numberNode(value.tolong())
          : factory.numberNode(value.todouble());
    }
    return value.isnil() ? factory.nullNode() : factory.textNode(value.tojstring());
  }

  /** Equal JSON, whatever width a number was read or written with (Lua has one number type). */
  private static final java.util.Comparator<JsonNode> SAME_VALUE =
      (a, b) ->
          a.isNumber() && b.isNumber()
              ? a.decimalValue().compareTo(b.decimalValue())
              : a.equals(b) ? 0 : 1;

  /** RFC 7386: what turns {@code before} into {@code after}. */
  private static JsonNode mergePatch(JsonNode before, JsonNode after) {
    if (!before.isObject() || !after.isObject()) {
      return after;
    }
    var patch = JsonNodeFactory.instance.objectNode();
    before
        .fieldNames()
        .forEachRemaining(
            name -> {
              if (!after.has(name)) {
                patch.putNull(name);
              }
            });
    after
        .fields()
        .forEachRemaining(
            field -> {
              var old = before.get(field.getKey());
              if (old == null) {
                patch.set(field.getKey(), field.getValue());
              } else if (!old.equals(SAME_VALUE, field.getValue())) {
                patch.set(field.getKey(), mergePatch(old, field.getValue()));
              }
            });
    return patch;
  }
}
