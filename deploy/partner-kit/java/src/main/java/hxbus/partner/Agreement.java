package hxbus.partner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The agencies' public keys from the interop agreement (deploy/agencies.toml).
 *
 * <p>Reads only what verification needs: in each {@code [[agencies]]} table its {@code id}
 * and {@code public_keys} (base64 of the raw 32-byte Ed25519 keys). A bureau with a TOML
 * library at hand should use it instead; this keeps the kit to three dependencies.
 */
public final class Agreement {
  private static final Pattern QUOTED = Pattern.compile("\"([^\"]*)\"");

  private Agreement() {}

  /** A listed public key and the agency that listed it. */
  public record Key(String agency, PublicKey publicKey) {}

  /** Every listed key by its key id. */
  public static Map<String, Key> keysById(Path toml) throws IOException, GeneralSecurityException {
    Map<String, Key> keys = new HashMap<>();
    String agency = null;
    StringBuilder keyList = null;
    for (String raw : Files.readAllLines(toml)) {
      String line = raw.replaceAll("#.*$", "").trim();
      if (keyList != null) {
        keyList.append(line);
        if (line.contains("]")) {
          add(keys, agency, keyList.toString());
          keyList = null;
        }
        continue;
      }
      if (line.startsWith("[")) {
        agency = null;
      } else if (line.matches("id\\s*=.*")) {
        Matcher id = QUOTED.matcher(line);
        agency = id.find() ? id.group(1) : null;
      } else if (line.matches("public_keys\\s*=.*")) {
        keyList = new StringBuilder(line);
        if (line.contains("]")) {
          add(keys, agency, keyList.toString());
          keyList = null;
        }
      }
    }
    return keys;
  }

  private static void add(Map<String, Key> keys, String agency, String list)
      throws GeneralSecurityException {
    if (agency == null) {
      throw new GeneralSecurityException("public_keys before the agency's id: " + list);
    }
    Matcher quoted = QUOTED.matcher(list);
    while (quoted.find()) {
      byte[] raw = Base64.getDecoder().decode(quoted.group(1));
      keys.put(Signing.keyId(raw), new Key(agency, Signing.publicKeyFromRaw(raw)));
    }
  }
}
