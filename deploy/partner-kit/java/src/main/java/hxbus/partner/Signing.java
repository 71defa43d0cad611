package hxbus.partner;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The hxbus signature (docs/signing.md), with nothing but the JDK's Ed25519.
 *
 * <p>Ed25519 over: field("hxbus-signature-v1"), field(topic), field(key), field(value),
 * field(key id), u32(count), then every covered header sorted by name (UTF-8 bytes) and
 * value bytes as field(name) field(value); field(b) = u32 big-endian length + b.
 */
public final class Signing {
  public static final String SIGNATURE_HEADER = "hx_signature";
  public static final String KEY_ID_HEADER = "hx_key_id";
  /** Headers never covered: the signature's own and the two a DLQ replay appends. */
  public static final Set<String> UNSIGNED =
      Set.of(SIGNATURE_HEADER, KEY_ID_HEADER, "hx_replay_of", "hx_replay_count");

  private static final byte[] DOMAIN = "hxbus-signature-v1".getBytes(StandardCharsets.UTF_8);
  /** DER prefix of an X.509 SubjectPublicKeyInfo for Ed25519 (RFC 8410): 12 bytes + 32. */
  private static final byte[] X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  private Signing() {}

  /** One Kafka header: name and value bytes. */
  public record Header(String name, byte[] value) {}

  /** The bytes a signature covers. */
  public static byte[] signedBytes(
      String topic, byte[] key, byte[] value, List<Header> headers, String keyId) {
    List<Header> covered = new ArrayList<>();
    for (Header header : headers) {
      if (!UNSIGNED.contains(header.name())) {
        covered.add(header);
      }
    }
    covered.sort(
        (a, b) -> {
          int byName =
              Arrays.compareUnsigned(
                  a.name().getBytes(StandardCharsets.UTF_8),
                  b.name().getBytes(StandardCharsets.UTF_8));
          return byName != 0 ? byName : Arrays.compareUnsigned(a.value(), b.value());
        });
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    field(out, DOMAIN);
    field(out, topic.getBytes(StandardCharsets.UTF_8));
    field(out, key == null ? new byte[0] : key);
    field(out, value);
    field(out, keyId.getBytes(StandardCharsets.UTF_8));
    u32(out, covered.size());
    for (Header header : covered) {
      field(out, header.name().getBytes(StandardCharsets.UTF_8));
      field(out, header.value());
    }
    return out.toByteArray();
  }

  /** The two headers to append: hx_signature (base64) and hx_key_id. */
  public static List<Header> sign(
      PrivateKey privateKey,
      String keyId,
      String topic,
      byte[] key,
      byte[] value,
      List<Header> headers)
      throws GeneralSecurityException {
    Signature ed25519 = Signature.getInstance("Ed25519");
    ed25519.initSign(privateKey);
    ed25519.update(signedBytes(topic, key, value, headers, keyId));
    byte[] signature = ed25519.sign();
    return List.of(
        new Header(SIGNATURE_HEADER, Base64.getEncoder().encode(signature)),
        new Header(KEY_ID_HEADER, keyId.getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * Checks a received message against the agreement's keys; null when it verifies, else why
   * not (the reasons hxbus's receivers dead-letter it for).
   */
  public static String verify(
      Map<String, Agreement.Key> keysById,
      String topic,
      byte[] key,
      byte[] value,
      List<Header> headers) {
    byte[] signature64 = only(headers, SIGNATURE_HEADER);
    byte[] rawKeyId = only(headers, KEY_ID_HEADER);
    byte[] source = only(headers, "ce_source");
    if (signature64 == null || rawKeyId == null) {
      return "unsigned: hx_signature or hx_key_id absent (or repeated)";
    }
    String keyId = new String(rawKeyId, StandardCharsets.UTF_8);
    Agreement.Key known = keysById.get(keyId);
    if (known == null) {
      return "unknown_key: " + keyId + " is no key of the agreement";
    }
    String claimed = source == null ? "" : new String(source, StandardCharsets.UTF_8);
    if (!known.agency().equals(claimed)) {
      return "wrong_source: key of " + known.agency() + ", ce_source " + claimed;
    }
    try {
      Signature ed25519 = Signature.getInstance("Ed25519");
      ed25519.initVerify(known.publicKey());
      ed25519.update(signedBytes(topic, key, value, headers, keyId));
      return ed25519.verify(Base64.getDecoder().decode(signature64)) ? null : "bad_signature";
    } catch (IllegalArgumentException | GeneralSecurityException e) {
      return "malformed: " + e.getMessage();
    }
  }

  /** The agreement's form of a public key (base64 of the raw 32 bytes) as a PublicKey. */
  public static PublicKey publicKeyFromRaw(byte[] raw) throws GeneralSecurityException {
    if (raw.length != 32) {
      throw new GeneralSecurityException("an Ed25519 public key is 32 bytes, not " + raw.length);
    }
    byte[] der = Arrays.copyOf(X509_PREFIX, X509_PREFIX.length + 32);
    System.arraycopy(raw, 0, der, X509_PREFIX.length, 32);
    return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
  }

  /** The raw 32 bytes of an Ed25519 public key (the last 32 of its X.509 encoding). */
  public static byte[] rawPublicKey(PublicKey publicKey) {
    byte[] der = publicKey.getEncoded();
    return Arrays.copyOfRange(der, der.length - 32, der.length);
  }

  /** The key id: 16 hex digits of SHA-256 of the raw public key. */
  public static String keyId(byte[] rawPublicKey) throws GeneralSecurityException {
    byte[] digest = MessageDigest.getInstance("SHA-256").digest(rawPublicKey);
    return HexFormat.of().formatHex(digest).substring(0, 16);
  }

  /** A PKCS#8 PEM private key, as `hxbus keys generate` writes it. */
  public static PrivateKey privateKeyFromPem(String pem) throws GeneralSecurityException {
    String body =
        pem.replace("-----BEGIN PRIVATE KEY-----", "")
            .replace("-----END PRIVATE KEY-----", "")
            .replaceAll("\\s", "");
    byte[] der = Base64.getDecoder().decode(body);
    return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
  }

  /**
   * The public half of a PKCS#8 Ed25519 key. The JDK has no call for it: its key pair
   * generator takes the 32-byte seed from the SecureRandom it is given, so a generator fed
   * the seed (the last 32 bytes of the PKCS#8 encoding) makes the same pair again.
   */
  public static PublicKey publicKeyOf(PrivateKey privateKey) throws GeneralSecurityException {
    byte[] der = privateKey.getEncoded();
    byte[] seed = Arrays.copyOfRange(der, der.length - 32, der.length);
    SecureRandom fixed =
        new SecureRandom() {
          @Override
          public void nextBytes(byte[] bytes) {
            System.arraycopy(seed, 0, bytes, 0, bytes.length);
          }
        };
    KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
    generator.initialize(NamedParameterSpec.ED25519, fixed);
    return generator.generateKeyPair().getPublic();
  }

  private static byte[] only(List<Header> headers, String name) {
    byte[] found = null;
    for (Header header : headers) {
      if (header.name().equals(name)) {
        if (found != null) {
          return null;
        }
        found = header.value();
      }
    }
    return found;
  }

  private static void field(ByteArrayOutputStream out, byte[] bytes) {
    u32(out, bytes.length);
    out.writeBytes(bytes);
  }

  private static void u32(ByteArrayOutputStream out, int n) {
    out.writeBytes(fourBytes(n));
  }

  private static byte[] fourBytes(int n) {
    return new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n};
  }
}
