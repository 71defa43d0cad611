package hxbus.partner;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.SchemaStore;

/**
 * The hxbus contract for Apache Avro: every published version of every event type, from
 * the repository's {@code schemas/avro/history/<EventType>/v<N>.avsc} (each file
 * self-contained), in a {@link SchemaStore.Cache} by fingerprint.
 *
 * <p>A value is Avro single-object encoding: C3 01, the writer schema's 8-byte
 * CRC-64-AVRO fingerprint (little-endian), the body. {@link #decode} finds the writer
 * schema by that fingerprint and resolves it into the newest version of its type;
 * {@link #encode} writes with the newest version.
 */
public final class Contract {
  private final SchemaStore.Cache store = new SchemaStore.Cache();
  private final Map<Long, Schema> byFingerprint = new HashMap<>();
  private final Map<String, Schema> newest = new HashMap<>();
  private final Map<String, Integer> newestVersion = new HashMap<>();
  private final Map<String, BinaryMessageDecoder<GenericRecord>> decoders = new HashMap<>();

  /** The contract from {@code historyDir} (the repository's schemas/avro/history). */
  public static Contract load(Path historyDir) throws IOException {
    Contract contract = new Contract();
    try (Stream<Path> files = Files.walk(historyDir)) {
      List<Path> avsc = files.filter(p -> p.toString().endsWith(".avsc")).sorted().toList();
      for (Path file : avsc) {
        Schema schema = new Schema.Parser().parse(file.toFile());
        contract.add(file, schema);
      }
    }
    if (contract.newest.isEmpty()) {
      throw new IOException(historyDir + ": no .avsc files (expected <EventType>/v<N>.avsc)");
    }
    return contract;
  }

  private void add(Path file, Schema schema) {
    store.addSchema(schema);
    byFingerprint.put(SchemaNormalization.parsingFingerprint64(schema), schema);
    String type = schema.getName();
    int version = versionOf(file);
    if (version > newestVersion.getOrDefault(type, 0)) {
      newest.put(type, schema);
      newestVersion.put(type, version);
    }
  }

  private static int versionOf(Path file) {
    String name = file.getFileName().toString();
    return Integer.parseInt(name.substring(1, name.length() - ".avsc".length()));
  }

  /** The newest schema of an event type ("PersonAlert"). */
  public Schema newest(String eventType) {
    Schema schema = newest.get(eventType);
    if (schema == null) {
      throw new IllegalArgumentException(eventType + " is not an event type of the contract");
    }
    return schema;
  }

  /** The writer schema's fingerprint of a value (bytes 2..9, little-endian). */
  public static long fingerprint(byte[] value) {
    if (value.length < 10 || value[0] != (byte) 0xC3 || value[1] != 0x01) {
      throw new IllegalArgumentException("not Avro single-object encoding (no C3 01 header)");
    }
    return ByteBuffer.wrap(value, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
  }

  /** The event type a value was written as. */
  public String typeOf(byte[] value) {
    Schema writer = byFingerprint.get(fingerprint(value));
    if (writer == null) {
      throw new IllegalArgumentException(
          String.format("unknown_schema: fingerprint %016x is not in the catalog", fingerprint(value)));
    }
    return writer.getName();
  }

  /** The value decoded into the newest version of its type. */
  public GenericRecord decode(byte[] value) throws IOException {
    String type = typeOf(value);
    BinaryMessageDecoder<GenericRecord> decoder =
        decoders.computeIfAbsent(
            type, t -> new BinaryMessageDecoder<>(GenericData.get(), newest(t), store));
    return decoder.decode(value);
  }

  /** Single-object encoding of a record of the newest version of its type. */
  public byte[] encode(GenericRecord record) throws IOException {
    BinaryMessageEncoder<GenericRecord> encoder =
        new BinaryMessageEncoder<>(GenericData.get(), record.getSchema());
    ByteBuffer buffer = encoder.encode(record);
    byte[] bytes = new byte[buffer.remaining()];
    buffer.get(bytes);
    return bytes;
  }
}
