package dev.tessera.runtime.io;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A read-only memory mapping of part of a file that is released when closed, not when the garbage collector gets to
 * it. On JDK 22 and later through the Foreign Function &amp; Memory API ({@code FileChannel.map(..., Arena)} and
 * {@code Arena.close()}, reached through method handles since Tessera compiles for Java 17): no warning, and a
 * buffer used after the close throws {@link IllegalStateException} instead of reading unmapped memory. On JDK 17-21
 * through {@code sun.misc.Unsafe.invokeCleaner} (JDK 24 and later warn about that method and will remove it, hence
 * the FFM path). Where neither is available the mapping is left to the garbage collector.
 */
final class ReadOnlyMapping implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReadOnlyMapping.class);

    /** How mappings are released in this JVM. */
    enum Release {
        ARENA, UNSAFE, GC
    }

    private static final Release RELEASE;
    // FFM (JDK 22+): Arena.ofShared(), FileChannel.map(MapMode, long, long, Arena), MemorySegment.asByteBuffer(),
    // Arena.close()
    private static final MethodHandle OF_SHARED, MAP, AS_BUFFER, CLOSE;
    // JDK 17-21: Unsafe.invokeCleaner(ByteBuffer)
    private static final Method INVOKE_CLEANER;
    private static final Object UNSAFE;

    static {
        MethodHandle ofShared = null, map = null, asBuffer = null, close = null;
        Method cleaner = null;
        Object unsafe = null;
        Release release = Release.GC;
        if (Runtime.version().feature() >= 22 && !Boolean.getBoolean("tessera.mapping.noArena")) {
            try {
                MethodHandles.Lookup l = MethodHandles.publicLookup();
                Class<?> arena = Class.forName("java.lang.foreign.Arena");
                Class<?> segment = Class.forName("java.lang.foreign.MemorySegment");
                ofShared = l.findStatic(arena, "ofShared", MethodType.methodType(arena));
                map = l.findVirtual(FileChannel.class, "map", MethodType.methodType(segment, FileChannel.MapMode.class,
                        long.class, long.class, arena));
                asBuffer = l.findVirtual(segment, "asByteBuffer", MethodType.methodType(ByteBuffer.class));
                close = l.findVirtual(arena, "close", MethodType.methodType(void.class));
                release = Release.ARENA;
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                LOG.debug("no FFM file mappings: {}", e.toString());
                ofShared = map = asBuffer = close = null;
            }
        }
        if (release == Release.GC && Runtime.version().feature() < 24) {
            try {
                Class<?> c = Class.forName("sun.misc.Unsafe");
                java.lang.reflect.Field f = c.getDeclaredField("theUnsafe");
                f.setAccessible(true);
                unsafe = f.get(null);
                cleaner = c.getMethod("invokeCleaner", ByteBuffer.class);
                release = Release.UNSAFE;
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                LOG.debug("mappings will be released by the garbage collector: {}", e.toString());
                cleaner = null;
                unsafe = null;
            }
        }
        OF_SHARED = ofShared;
        MAP = map;
        AS_BUFFER = asBuffer;
        CLOSE = close;
        INVOKE_CLEANER = cleaner;
        UNSAFE = unsafe;
        RELEASE = release;
    }

    private final Object arena; // ARENA: the arena that owns the mapping
    private final ByteBuffer buffer;
    private boolean closed;

    private ReadOnlyMapping(Object arena, ByteBuffer buffer) {
        this.arena = arena;
        this.buffer = buffer;
    }

    /** Maps {@code size} bytes of {@code channel} from {@code offset}, read-only. */
    static ReadOnlyMapping map(FileChannel channel, long offset, long size) throws IOException {
        if (RELEASE != Release.ARENA) {
            return new ReadOnlyMapping(null, channel.map(FileChannel.MapMode.READ_ONLY, offset, size));
        }
        Object arena;
        try {
            arena = OF_SHARED.invoke();
        } catch (Throwable t) {
            throw rethrow(t);
        }
        try {
            Object segment = MAP.invoke(channel, FileChannel.MapMode.READ_ONLY, offset, size, arena);
            return new ReadOnlyMapping(arena, (ByteBuffer) AS_BUFFER.invoke(segment));
        } catch (Throwable t) {
            try {
                CLOSE.invoke(arena);
            } catch (Throwable suppressed) {
                t.addSuppressed(suppressed);
            }
            throw rethrow(t);
        }
    }

    private static IOException rethrow(Throwable t) {
        if (t instanceof IOException io) {
            return io;
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IOException(t);
    }

    /** The mapped bytes (position 0, big-endian as any new buffer); valid until {@link #close()}. */
    ByteBuffer buffer() {
        return buffer;
    }

    /** How this JVM releases mappings: {@code ARENA} (JDK 22+), {@code UNSAFE} (JDK 17-21) or {@code GC}. */
    static Release release() {
        return RELEASE;
    }

    /**
     * Unmaps now (where this JVM allows it; else the garbage collector will). Idempotent. An {@link Error} raised on
     * the way (the JVM may deliver the InternalError of a fault in a file cut short under the mapping here) propagates.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (arena != null) {
                CLOSE.invoke(arena);
            } else if (INVOKE_CLEANER != null && buffer instanceof MappedByteBuffer) {
                INVOKE_CLEANER.invoke(UNSAFE, buffer);
            }
        } catch (Error e) {
            throw e; // e.g. the InternalError of a fault in a file cut short under the mapping, delivered late
        } catch (Throwable t) {
            LOG.debug("could not unmap: {}", t.toString());
        }
    }
}
