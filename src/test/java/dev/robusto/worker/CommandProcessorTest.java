package dev.robusto.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command processor runs real programs (sh): verdicts by exit code, and what they are given.
 */
class CommandProcessorTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  @TempDir Path dir;

  @Test
  void theProgramGetsThePayloadAndTheItemsVariablesButNoneOfTheWorkersSecrets() throws Exception {
    var seen = dir.resolve("seen");
    var worker =
        Map.of(
            "PATH", System.getenv("PATH"),
            "ROBUSTO_DATABASE_PASSWORD", "s3cret-of-the-tenant-role",
            "ROBUSTO_DATABASE_USERNAME", "t_acme_a",
            "ROBUSTO_DATABASE_URL", "jdbc:postgresql://db:5432/robusto",
            "ROBUSTO_WORKER_CONFIG", "{}",
            "AWS_SECRET_ACCESS_KEY", "anything-else-the-pod-had");
    var processor =
        new CommandProcessor(
            List.of("sh", "-c", "{ env; echo payload=$(cat); } > " + seen), TIMEOUT, worker);

    var result = processor.process("ticket-1", "{\"folio\": 7}", 2);

    assertThat(result.verdict()).isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
    var output = Files.readString(seen);
    assertThat(output)
        .contains("ROBUSTO_ITEM_KEY=ticket-1", "ROBUSTO_ATTEMPT=2", "payload={\"folio\": 7}")
        .contains("PATH=" + System.getenv("PATH"))
        .doesNotContain(
            "s3cret-of-the-tenant-role",
            "ROBUSTO_DATABASE",
            "ROBUSTO_WORKER_CONFIG",
            "anything-else-the-pod-had");
  }

  @Test
  void exitCodesDecideTheVerdict() {
    assertThat(run("exit 0")).isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
    assertThat(run("exit 65")).as("EX_DATAERR").isEqualTo(ItemProcessor.Verdict.PERMANENT_FAILURE);
    assertThat(run("exit 75")).as("EX_TEMPFAIL").isEqualTo(ItemProcessor.Verdict.RETRY);
    assertThat(run("exit 1")).isEqualTo(ItemProcessor.Verdict.RETRY);
  }

  @Test
  void aProgramThatExitsWithoutReadingItsPayloadIsJudgedByItsExitCode() {
    // The payload is bigger than a pipe holds, so writing it fails once the program has gone.
    var payload = "{\"blob\": \"" + "x".repeat(1 << 20) + "\"}";
    var processor = new CommandProcessor(List.of("sh", "-c", "exit 0"), TIMEOUT, Map.of());
    assertThat(processor.process("k", payload, 1).verdict())
        .isEqualTo(ItemProcessor.Verdict.SUCCEEDED);
  }

  @Test
  void aProgramPastTheTimeoutIsStoppedAndRetried() {
    var processor =
        new CommandProcessor(
            List.of("sh", "-c", "sleep 30"),
            Duration.ofMillis(300),
            Map.of("PATH", System.getenv("PATH")));
    var result = processor.process("ticket-2", "{}", 1);
    assertThat(result.verdict()).isEqualTo(ItemProcessor.Verdict.RETRY);
    assertThat(result.detail()).contains("past the item timeout");
  }

  private static ItemProcessor.Verdict run(String script) {
    return new CommandProcessor(List.of("sh", "-c", script), TIMEOUT, Map.of())
        .process("k", "{}", 1)
        .verdict();
  }
}
