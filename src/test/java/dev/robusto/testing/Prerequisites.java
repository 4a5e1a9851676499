package dev.robusto.testing;

import java.nio.file.Path;
import java.util.List;

/**
 * The real tools a test needs, obtained by {@code hack/prerequisites} as the README's commands
 * obtain them: found on the machine, installed from Debian's packages, or built from the Go module
 * proxy and cached. A tool that cannot be had fails the test with the line that names it.
 */
public final class Prerequisites {

  private Prerequisites() {}

  /** The executable of {@code name} (as {@code hack/prerequisites --which} knows it). */
  public static Path path(String name) {
    var output =
        LocalCluster.checked(
            LocalCluster.exec(
                LocalCluster.projectDir(),
                List.of("hack/prerequisites", "--which", name),
                1800,
                null));
    var lines = output.strip().split("\n");
    return Path.of(lines[lines.length - 1].strip());
  }
}
