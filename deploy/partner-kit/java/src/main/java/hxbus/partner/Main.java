package hxbus.partner;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The hxbus partner kit for Java: what a bureau's own system does to join the exchange.
 *
 * <pre>
 *   consume  --bootstrap B --group G --topic T... --schemas DIR --agreement FILE
 *            [--client-config FILE] [--max-messages N] [--idle-seconds S]
 *       Reads hxbus events, verifies each signature against the agreement's keys, decodes
 *       the value by its fingerprint, re-encodes it to prove the bytes, and prints one JSON
 *       line per message (ids and outcome only: no record content).
 *   publish-person-alert --bootstrap B --agency A --private-key PEM --schemas DIR
 *            [--topic hx.alerts.person] [--client-config FILE] [--alert-id UUID]
 *       Builds a PersonAlert with Avro's GenericRecordBuilder, encodes it with
 *       BinaryMessageEncoder, adds the CloudEvents headers, signs, sends (acks=all,
 *       idempotent), and prints the message id and alert id as JSON.
 *
 *   sign --private-key PEM --topic T --key K --value-hex HEX --header name=value ...
 *       Prints the signed bytes (hex) and the hx_signature / hx_key_id headers of one message:
 *       check it against the test vector of docs/signing.md.
 * </pre>
 *
 * <p>--client-config is a Kafka client properties file (security.protocol, sasl.*, ssl.*), the
 * same file `hxbus kafka` writes for Kafka's own tools.
 */
public final class Main {
  private static final DateTimeFormatter RFC3339_MS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private Main() {}

  public static void main(String[] argv) throws Exception {
    if (argv.length == 0) {
      System.err.println("usage: Main consume|publish-person-alert --option value ...");
      System.exit(2);
    }
    Map<String, List<String>> options = options(Arrays.copyOfRange(argv, 1, argv.length));
    switch (argv[0]) {
      case "consume" -> consume(options);
      case "publish-person-alert" -> publishPersonAlert(options);
      case "sign" -> sign(options);
      default -> {
        System.err.println("unknown command " + argv[0]);
        System.exit(2);
      }
    }
  }

  // -- consume -------------------------------------------------------------------------

  static void consume(Map<String, List<String>> options) throws Exception {
    Contract contract = Contract.load(Path.of(one(options, "--schemas")));
    Map<String, Agreement.Key> keys = Agreement.keysById(Path.of(one(options, "--agreement")));
    int maxMessages = Integer.parseInt(optional(options, "--max-messages", "1000000"));
    long idleMs = (long) (Double.parseDouble(optional(options, "--idle-seconds", "10")) * 1000);

    Properties config = clientConfig(options);
    config.put(ConsumerConfig.GROUP_ID_CONFIG, one(options, "--group"));
    config.put(ConsumerConfig.CLIENT_ID_CONFIG, "partner-kit-java-consume");
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    int seen = 0;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(options.get("--topic"));
      long lastRecord = System.currentTimeMillis();
      while (seen < maxMessages && System.currentTimeMillis() - lastRecord < idleMs) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          System.out.println(check(contract, keys, record));
          System.out.flush();
          lastRecord = System.currentTimeMillis();
          seen++;
        }
        consumer.commitSync(); // only after the message was handled
      }
    }
  }

  /** One message checked as an hxbus receiver does: signature, then the value. */
  static String check(
      Contract contract, Map<String, Agreement.Key> keys, ConsumerRecord<byte[], byte[]> record) {
    List<Signing.Header> headers = new ArrayList<>();
    record.headers().forEach(h -> headers.add(new Signing.Header(h.key(), h.value())));
    Map<String, String> ce = new HashMap<>();
    for (Signing.Header h : headers) {
      if (h.name().startsWith("ce_") || h.name().equals("content-type")) {
        ce.put(h.name(), new String(h.value(), StandardCharsets.UTF_8));
      }
    }
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    out.put("topic", record.topic());
    out.put("offset", record.offset());
    out.put("id", ce.get("ce_id"));
    out.put("type", ce.get("ce_type"));
    out.put("source", ce.get("ce_source"));
    String refusal =
        Signing.verify(keys, record.topic(), record.key(), record.value(), headers);
    out.put("verified", refusal == null);
    if (refusal != null) {
      out.put("error", refusal);
      return json(out);
    }
    try {
      String type = contract.typeOf(record.value());
      if (!type.equals(ce.get("ce_type"))) {
        out.put("error", "ce_type says " + ce.get("ce_type") + ", the value is a " + type);
        return json(out);
      }
      GenericRecord decoded = contract.decode(record.value());
      out.put("fingerprint", String.format("%016x", Long.reverseBytes(Contract.fingerprint(record.value()))));
      // The first field is the event's own id (alert_id, hit_id, request_id, ...).
      out.put("record_id", String.valueOf(decoded.get(0)));
      out.put("reencoded_identical", Arrays.equals(contract.encode(decoded), record.value()));
    } catch (IOException | RuntimeException e) {
      out.put("error", "undecodable: " + e.getMessage());
    }
    return json(out);
  }

  // -- sign ----------------------------------------------------------------------------

  static void sign(Map<String, List<String>> options) throws Exception {
    PrivateKey privateKey =
        Signing.privateKeyFromPem(Files.readString(Path.of(one(options, "--private-key"))));
    String keyId = Signing.keyId(Signing.rawPublicKey(Signing.publicKeyOf(privateKey)));
    String topic = one(options, "--topic");
    byte[] key = one(options, "--key").getBytes(StandardCharsets.UTF_8);
    byte[] value = java.util.HexFormat.of().parseHex(one(options, "--value-hex"));
    List<Signing.Header> headers = new ArrayList<>();
    for (String pair : options.getOrDefault("--header", List.of())) {
      int eq = pair.indexOf('=');
      headers.add(header(pair.substring(0, eq), pair.substring(eq + 1)));
    }
    System.out.println(
        "signed-bytes: "
            + java.util.HexFormat.of().formatHex(Signing.signedBytes(topic, key, value, headers, keyId)));
    for (Signing.Header h : Signing.sign(privateKey, keyId, topic, key, value, headers)) {
      System.out.println(h.name() + ": " + new String(h.value(), StandardCharsets.UTF_8));
    }
  }

  // -- publish -------------------------------------------------------------------------

  static void publishPersonAlert(Map<String, List<String>> options) throws Exception {
    Contract contract = Contract.load(Path.of(one(options, "--schemas")));
    String agency = one(options, "--agency");
    String topic = optional(options, "--topic", "hx.alerts.person");
    PrivateKey privateKey =
        Signing.privateKeyFromPem(Files.readString(Path.of(one(options, "--private-key"))));
    String keyId = Signing.keyId(Signing.rawPublicKey(Signing.publicKeyOf(privateKey)));
    String alertId = optional(options, "--alert-id", UUID.randomUUID().toString());
    String messageId = UUID.randomUUID().toString();
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);

    GenericRecord alert = personAlert(contract.newest("PersonAlert"), agency, alertId, now);
    byte[] value = contract.encode(alert);
    byte[] key = alertId.getBytes(StandardCharsets.UTF_8);
    List<Signing.Header> headers = new ArrayList<>();
    headers.add(header("ce_specversion", "1.0"));
    headers.add(header("ce_id", messageId));
    headers.add(header("ce_source", agency));
    headers.add(header("ce_type", "PersonAlert"));
    headers.add(header("ce_time", RFC3339_MS.format(now)));
    headers.add(header("content-type", "application/avro"));
    headers.add(header("ce_correlationid", alertId));
    headers.addAll(Signing.sign(privateKey, keyId, topic, key, value, headers));

    Properties config = clientConfig(options);
    config.put(ProducerConfig.CLIENT_ID_CONFIG, "partner-kit-java-publish");
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
      ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, key, value);
      for (Signing.Header h : headers) {
        record.headers().add(new RecordHeader(h.name(), h.value()));
      }
      RecordMetadata sent = producer.send(record).get();
      Map<String, Object> out = new java.util.LinkedHashMap<>();
      out.put("id", messageId);
      out.put("alert_id", alertId);
      out.put("topic", sent.topic());
      out.put("partition", sent.partition());
      out.put("offset", sent.offset());
      out.put("key_id", keyId);
      System.out.println(json(out));
    }
  }

  /** A PersonAlert of the newest schema: required fields set, the rest their defaults. */
  static GenericRecord personAlert(Schema schema, String agency, String alertId, Instant now) {
    Schema subjectSchema = schema.getField("subject").schema();
    GenericRecord subject =
        new GenericRecordBuilder(subjectSchema)
            .set("name", "测试对象")
            .set("sex", enumSymbol(subjectSchema.getField("sex").schema(), "UNKNOWN"))
            .build();
    return new GenericRecordBuilder(schema)
        .set("alert_id", alertId)
        .set("revision", 1)
        .set("category", enumSymbol(schema.getField("category").schema(), "MISSING"))
        .set("subject", subject)
        .set("reason", "partner kit test alert")
        .set("requested_action", enumSymbol(schema.getField("requested_action").schema(), "LOCATE_AND_REPORT"))
        .set("issuing_agency", agency)
        .set("issued_at", now.toEpochMilli())
        .set("valid_until", now.plus(30, ChronoUnit.DAYS).toEpochMilli())
        .set("handling", enumSymbol(schema.getField("handling").schema(), "SHARE_ALL_PARTNERS"))
        .set("legal_basis", "partner kit test")
        .build();
  }

  private static GenericData.EnumSymbol enumSymbol(Schema enumSchema, String symbol) {
    return new GenericData.EnumSymbol(enumSchema, symbol);
  }

  private static Signing.Header header(String name, String value) {
    return new Signing.Header(name, value.getBytes(StandardCharsets.UTF_8));
  }

  // -- small helpers -------------------------------------------------------------------

  private static Properties clientConfig(Map<String, List<String>> options) throws IOException {
    Properties config = new Properties();
    String file = optional(options, "--client-config", null);
    if (file != null) {
      try (InputStream in = new FileInputStream(file)) {
        config.load(in);
      }
    }
    String bootstrap = optional(options, "--bootstrap", null);
    if (bootstrap != null) {
      config.put("bootstrap.servers", bootstrap);
    }
    return config;
  }

  private static Map<String, List<String>> options(String[] args) {
    Map<String, List<String>> options = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      options.computeIfAbsent(args[i], k -> new ArrayList<>()).add(args[i + 1]);
    }
    return options;
  }

  private static String one(Map<String, List<String>> options, String name) {
    List<String> values = options.get(name);
    if (values == null || values.isEmpty()) {
      System.err.println("missing option " + name);
      System.exit(2);
    }
    return values.get(0);
  }

  private static String optional(Map<String, List<String>> options, String name, String fallback) {
    List<String> values = options.get(name);
    return values == null || values.isEmpty() ? fallback : values.get(0);
  }

  /** A flat JSON object of strings, numbers and booleans. */
  static String json(Map<String, Object> fields) {
    StringBuilder out = new StringBuilder("{");
    for (Map.Entry<String, Object> field : fields.entrySet()) {
      if (out.length() > 1) {
        out.append(", ");
      }
      out.append(quote(field.getKey())).append(": ");
      Object value = field.getValue();
      out.append(
          value instanceof Number || value instanceof Boolean
              ? value.toString()
              : value == null ? "null" : quote(value.toString()));
    }
    return out.append("}").toString();
  }

  private static String quote(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
