package dev.robusto.operator;

import java.util.Locale;

/**
 * How a status enum reads in JSON and kubectl: its constant in upper camel case (ROLLED_BACK:
 * RolledBack).
 */
public final class EnumNames {

  private EnumNames() {}

  public static String upperCamel(Enum<?> constant) {
    var name = new StringBuilder();
    for (var word : constant.name().split("_")) {
      name.append(word.charAt(0)).append(word.substring(1).toLowerCase(Locale.ROOT));
    }
    return name.toString();
  }
}
