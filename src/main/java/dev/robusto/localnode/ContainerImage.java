package dev.robusto.localnode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An image from a {@code docker save} tarball (what Jib's buildTar writes), unpacked into a root
 * filesystem, and its containers started as processes confined to it, as a container runtime would
 * start them, less the isolation a node needs and a laptop does not: {@code unshare} gives each its
 * own mount namespace with a fresh {@code /proc}, the image's root as its root and the image's user
 * (never root). Network and PIDs stay the machine's, so a container reaches loopback services (the
 * local API server, PostgreSQL) as a pod reaches its cluster's. Needs root, as a runtime does.
 */
public final class ContainerImage {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** What the image's config says a container runs, and as whom. */
  public record Config(
      List<String> tags,
      List<String> entrypoint,
      List<String> cmd,
      Map<String, String> env,
      String user,
      String workingDir,
      List<String> exposedPorts,
      Map<String, String> labels) {}

  private final Path rootfs;
  private final Config config;

  private ContainerImage(Path rootfs, Config config) {
    this.rootfs = rootfs;
    this.config = config;
  }

  /** Reads a tarball's manifest and config, without unpacking its layers. */
  public static Config readConfig(Path tarball) throws IOException, InterruptedException {
    var dir = Files.createTempDirectory("robusto-image-config");
    try {
      tar(tarball, dir, "manifest.json");
      var manifest = JSON.readTree(dir.resolve("manifest.json").toFile()).get(0);
      var configName = manifest.get("Config").asText();
      tar(tarball, dir, configName);
      return config(manifest, JSON.readTree(dir.resolve(configName).toFile()));
    } finally {
      deleteTree(dir);
    }
  }

  /** Unpacks the image's layers, in order, into {@code into}, which must not exist. */
  public static ContainerImage load(Path tarball, Path into)
      throws IOException, InterruptedException {
    var archive = into.resolveSibling(into.getFileName() + ".archive");
    deleteTree(archive);
    Files.createDirectories(archive);
    try {
      tar(tarball, archive);
      var manifest = JSON.readTree(archive.resolve("manifest.json").toFile()).get(0);
      var config =
          config(
              manifest, JSON.readTree(archive.resolve(manifest.get("Config").asText()).toFile()));
      Files.createDirectories(into);
      for (var layer : manifest.get("Layers")) {
        tar(archive.resolve(layer.asText()), into);
      }
      runtimeFiles(into);
      return new ContainerImage(into, config);
    } finally {
      deleteTree(archive);
    }
  }

  public Config config() {
    return config;
  }

  public Path rootfs() {
    return rootfs;
  }

  /**
   * Starts a container: {@code command} (the image's entrypoint and cmd when empty) with the
   * image's environment overlaid by {@code env}, as the image's user in its working directory;
   * output to {@code log}. SIGTERM to the returned process reaches the command itself.
   */
  public Process start(List<String> command, Map<String, String> env, Path log) throws IOException {
    var run = new ArrayList<String>();
    if (command.isEmpty()) {
      run.addAll(config.entrypoint());
      run.addAll(config.cmd());
    } else {
      run.addAll(command);
    }
    var user = config.user().isEmpty() ? "65534" : config.user();
    var uid = user.split(":")[0];
    var gid = user.contains(":") ? user.split(":")[1] : uid;
    if (!uid.chars().allMatch(Character::isDigit) || "0".equals(uid)) {
      throw new IllegalStateException(
          "the image's user " + user + " is not a numeric non-root uid: not started");
    }
    var line = new ArrayList<String>();
    line.addAll(
        List.of(
            "unshare",
            "--mount-proc",
            "--root=" + rootfs,
            "--wd=" + (config.workingDir().isEmpty() ? "/" : config.workingDir()),
            "--setgid=" + gid,
            "--setuid=" + uid,
            "--"));
    line.addAll(run);
    var builder =
        new ProcessBuilder(line)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().clear();
    builder.environment().putAll(config.env());
    builder.environment().putAll(env);
    // unshare itself is found on the machine's PATH; the command on the image's, after the chroot.
    var machinePath = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    builder.command().set(0, which("unshare", machinePath));
    return builder.start();
  }

  private static String which(String program, String path) {
    for (var dir : path.split(":")) {
      var candidate = Path.of(dir, program);
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    throw new IllegalStateException(program + " not found on PATH (util-linux provides it)");
  }

  private static Config config(JsonNode manifest, JsonNode image) {
    var tags = new ArrayList<String>();
    manifest.path("RepoTags").forEach(t -> tags.add(t.asText()));
    var c = image.path("config");
    var env = new LinkedHashMap<String, String>();
    c.path("Env")
        .forEach(
            e -> {
              var pair = e.asText().split("=", 2);
              env.put(pair[0], pair.length > 1 ? pair[1] : "");
            });
    var labels = new LinkedHashMap<String, String>();
    c.path("Labels").fields().forEachRemaining(l -> labels.put(l.getKey(), l.getValue().asText()));
    var ports = new ArrayList<String>();
    c.path("ExposedPorts").fieldNames().forEachRemaining(ports::add);
    return new Config(
        tags,
        strings(c.path("Entrypoint")),
        strings(c.path("Cmd")),
        env,
        c.path("User").asText(""),
        c.path("WorkingDir").asText(""),
        ports,
        labels);
  }

  private static List<String> strings(JsonNode array) {
    var out = new ArrayList<String>();
    array.forEach(s -> out.add(s.asText()));
    return out;
  }

  /**
   * What a runtime gives every container and an image does not hold: the few devices a JVM opens,
   * and name resolution for loopback.
   */
  private static void runtimeFiles(Path root) throws IOException, InterruptedException {
    var dev = Files.createDirectories(root.resolve("dev"));
    for (var device : List.of("null 1 3", "zero 1 5", "full 1 7", "random 1 8", "urandom 1 9")) {
      var parts = device.split(" ");
      if (!Files.exists(dev.resolve(parts[0]))) {
        run("mknod", "-m", "666", dev.resolve(parts[0]).toString(), "c", parts[1], parts[2]);
      }
    }
    Files.writeString(
        root.resolve("etc/hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n");
    var resolv = Path.of("/etc/resolv.conf");
    if (Files.isReadable(resolv)) {
      Files.copy(
          resolv,
          root.resolve("etc/resolv.conf"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static void tar(Path archive, Path into, String... members)
      throws IOException, InterruptedException {
    var command =
        new ArrayList<>(
            List.of(
                "tar",
                "--warning=no-unknown-keyword",
                "-xf",
                archive.toString(),
                "-C",
                into.toString()));
    command.addAll(List.of(members));
    run(command.toArray(String[]::new));
  }

  private static void run(String... command) throws IOException, InterruptedException {
    var process = new ProcessBuilder(command).redirectErrorStream(true).start();
    var output = new String(process.getInputStream().readAllBytes());
    if (process.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + output.strip());
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (var path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }
}
