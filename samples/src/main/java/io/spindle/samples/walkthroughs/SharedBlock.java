package io.spindle.samples.walkthroughs;

import com.sun.jna.Pointer;

import java.nio.charset.StandardCharsets;

/**
 * A block of {@code mmap(MAP_SHARED|MAP_ANONYMOUS)} memory through which a clone child reports
 * what it saw. Unlike the JVM's ordinary memory, which a child without {@code CLONE_VM} gets as
 * a copy-on-write copy, a shared mapping is the same memory on both sides, so the child's
 * writes are the parent's reads after {@code join()} (waitpid orders them).
 */
final class SharedBlock implements AutoCloseable {
    private final long address;
    private final long size;
    private final Pointer pointer;
    private boolean closed;

    private SharedBlock(long address, long size) {
        this.address = address;
        this.size = size;
        this.pointer = new Pointer(address);
    }

    static SharedBlock map(long size) {
        long address = SamplesNative.sample_map_shared(size);
        if (address == 0) throw new IllegalStateException("mmap(MAP_SHARED|MAP_ANONYMOUS, " + size + ") failed");
        return new SharedBlock(address, size);
    }

    long address() {
        return address;
    }

    Pointer pointer() {
        return pointer;
    }

    int getInt(long offset) {
        return pointer.getInt(check(offset, 4));
    }

    long getLong(long offset) {
        return pointer.getLong(check(offset, 8));
    }

    void setLong(long offset, long value) {
        pointer.setLong(check(offset, 8), value);
    }

    /** A NUL-terminated string of at most {@code max} bytes (the C field's size) at offset. */
    String getString(long offset, int max) {
        byte[] bytes = pointer.getByteArray(check(offset, max), max);
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) n++;
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }

    /** Writes {@code value} NUL-terminated into a C field of {@code max} bytes. */
    void setString(long offset, int max, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        if (bytes.length >= max) {
            throw new IllegalArgumentException("\"" + value + "\" does not fit in " + (max - 1) + " bytes");
        }
        check(offset, max);
        pointer.write(offset, bytes, 0, bytes.length);
        pointer.setByte(offset + bytes.length, (byte) 0);
    }

    private long check(long offset, long length) {
        if (offset < 0 || offset + length > size) {
            throw new IndexOutOfBoundsException("offset " + offset + "+" + length + " outside a block of " + size);
        }
        return offset;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        SamplesNative.sample_unmap_shared(address, size);
    }
}
