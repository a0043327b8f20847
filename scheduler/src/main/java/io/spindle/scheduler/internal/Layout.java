package io.spindle.scheduler.internal;

/**
 * The Java mirror of {@code spindle_sched.h}: every offset and size the Java side uses, as
 * constants (so the JIT folds them), checked once against the values the native library
 * exports. A mismatch means the header and this file drifted apart: the runtime refuses to
 * load rather than read the wrong field. <b>Internal.</b>
 */
public final class Layout {
    // Keys in the order of enum spn_layout_key, each with the constant this side uses.
    private enum Key {
        RING_PRODUCER_INDEX(Layout.RING_PRODUCER_INDEX), RING_CONSUMER_INDEX(Layout.RING_CONSUMER_INDEX),
        RING_CAPACITY(Layout.RING_CAPACITY), RING_MASK(Layout.RING_MASK), RING_SLOTS(Layout.RING_SLOTS),
        RING_SLOT_SIZE(1 << Layout.RING_SLOT_SHIFT), RING_SLOT_SEQUENCE(Layout.RING_SLOT_SEQUENCE),
        RING_SLOT_ELEMENT(Layout.RING_SLOT_ELEMENT),
        TASK_SIZE(1 << Layout.TASK_SHIFT), TASK_FN(Layout.TASK_FN), TASK_ARG(Layout.TASK_ARG),
        TASK_RESULT(Layout.TASK_RESULT), TASK_STATE(Layout.TASK_STATE), TASK_REFS(Layout.TASK_REFS),
        TASK_INDEX(Layout.TASK_INDEX), TASK_NEXT_FREE(Layout.TASK_NEXT_FREE), TASK_GROUP(Layout.TASK_GROUP),
        TASK_GROUP_SLOT(Layout.TASK_GROUP_SLOT), TASK_WAITERS(Layout.TASK_WAITERS), TASK_FIBER(Layout.TASK_FIBER),
        GROUP_STATE(Layout.GROUP_STATE), GROUP_CANCELLED(Layout.GROUP_CANCELLED),
        GROUP_REMAINING(Layout.GROUP_REMAINING), GROUP_COUNT(Layout.GROUP_COUNT), GROUP_RESULTS(Layout.GROUP_RESULTS),
        SCHED_SUBMIT(Layout.SCHED_SUBMIT), SCHED_COMPLETIONS(Layout.SCHED_COMPLETIONS),
        SCHED_POOL_CHUNK_COUNT(Layout.SCHED_POOL_CHUNK_COUNT), SCHED_POOL_HEAD(Layout.SCHED_POOL_HEAD),
        SCHED_NSPINNING(Layout.SCHED_NSPINNING), SCHED_NPARKED(Layout.SCHED_NPARKED),
        SCHED_SHUTDOWN(Layout.SCHED_SHUTDOWN), SCHED_CHUNKS(Layout.SCHED_CHUNKS), SCHED_STATS(Layout.SCHED_STATS),
        STATS_SIZE(Layout.STATS_SIZE), STATS_TASKS_RUN(Layout.STATS_TASKS_RUN), STATS_PARKS(Layout.STATS_PARKS),
        STATS_WAKEUPS(Layout.STATS_WAKEUPS), STATS_STEALS(Layout.STATS_STEALS),
        STATS_CANCELLED(Layout.STATS_CANCELLED), STATS_TID(Layout.STATS_TID), STATS_STACKS(Layout.STATS_STACKS),
        POOL_CHUNK(Layout.POOL_CHUNK), RING_CLOSED_BIT(Layout.RING_CLOSED), TASK_GROUP_END(Layout.TASK_GROUP_END),
        TASK_GEN(Layout.TASK_GEN), TASK_OWNERS(Layout.TASK_OWNERS), REF_RUN(Layout.REF_RUN),
        REF_HANDLE(Layout.REF_HANDLE), REF_JAVA(Layout.REF_JAVA), SCHED_SPACE_WAITERS(Layout.SCHED_SPACE_WAITERS),
        SCHED_SPACE_SIGNALLED(Layout.SCHED_SPACE_SIGNALLED), COMPLETION_SPACE(Layout.COMPLETION_SPACE),
        SCHED_SPACE_SEQ(Layout.SCHED_SPACE_SEQ), SCHED_SPACE_PARKERS(Layout.SCHED_SPACE_PARKERS),
        CALL_SIZE(Layout.CALL_SIZE), CALL_FN(Layout.CALL_FN), CALL_RET_KIND(Layout.CALL_RET_KIND),
        CALL_INTS(Layout.CALL_INTS), CALL_FPS(Layout.CALL_FPS),
        GROUP_CALL_FN(Layout.GROUP_CALL_FN), GROUP_ROW_STRIDE(Layout.GROUP_ROW_STRIDE), GROUP_ROW_FPS(Layout.GROUP_ROW_FPS),
        GROUP_ROW_RET(Layout.GROUP_ROW_RET), GROUP_RET_KIND(Layout.GROUP_RET_KIND), CALL_ROW_OVERREAD(Layout.CALL_ROW_OVERREAD),
        RET_INT(Layout.RET_INT), RET_FP(Layout.RET_FP), POOL_CALL_ROWS(Layout.POOL_CALL_ROWS),
        POOL_CHUNK_BYTES(Layout.POOL_CHUNK_BYTES);

        final long expected;

        Key(long expected) {
            this.expected = expected;
        }
    }

    public static final int RING_PRODUCER_INDEX = 0;
    public static final int RING_CONSUMER_INDEX = 128;
    public static final int RING_CAPACITY = 256;
    public static final int RING_MASK = 264;
    public static final int RING_SLOTS = 320;
    public static final int RING_SLOT_SHIFT = 4; // 16-byte slots
    public static final int RING_SLOT_SEQUENCE = 0;
    public static final int RING_SLOT_ELEMENT = 8;
    public static final long RING_CLOSED = 1L << 62;

    public static final int TASK_SHIFT = 6; // 64-byte descriptors
    public static final int TASK_FN = 0;
    public static final int TASK_ARG = 8;
    public static final int TASK_GROUP_END = 8; // a chunk of a batch: one past its last slot
    public static final int TASK_RESULT = 16;
    public static final int TASK_NEXT_FREE = 16; // while free (an int)
    public static final int TASK_GROUP_SLOT = 20; // a chunk of a batch (an int)
    public static final int TASK_OWNERS = 24; // gen << 32 | refs, one long
    public static final int TASK_REFS = 24;
    public static final int TASK_GEN = 28;
    public static final int TASK_STATE = 32;
    public static final int TASK_INDEX = 36;
    public static final int TASK_GROUP = 40;
    public static final int TASK_WAITERS = 48;
    public static final int TASK_FIBER = 56;

    public static final int GROUP_STATE = 0;
    public static final int GROUP_CANCELLED = 4;
    public static final int GROUP_REMAINING = 8;
    public static final int GROUP_COUNT = 16;
    public static final int GROUP_CALL_FN = 24; // callAll: the function; spawnAll: 0
    public static final int GROUP_ROW_STRIDE = 32; // an int: bytes per row (8 for spawnAll)
    public static final int GROUP_ROW_FPS = 36; // a short: a call row's first floating-point argument
    public static final int GROUP_ROW_RET = 38; // a short: a call row's result slot
    public static final int GROUP_RET_KIND = 40;
    public static final int GROUP_RESULTS = 64; // the rows: spawnAll's hold each task's argument, then its result
    // After the rows: a byte per task, set if it never ran (cancelled, or refused at close),
    // then CALL_ROW_OVERREAD bytes the row loop may read past the last row.
    public static final int CALL_ROW_OVERREAD = 128;
    // spn_call_group_create's return kinds (SPN_RET_*).
    public static final int RET_NONE = 0;
    public static final int RET_INT = 1;
    public static final int RET_FP = 2;

    public static final int SCHED_SUBMIT = 0;
    public static final int SCHED_COMPLETIONS = 8;
    public static final int SCHED_POOL_CHUNK_COUNT = 16;
    public static final int SCHED_POOL_HEAD = 64;
    public static final int SCHED_NSPINNING = 128;
    public static final int SCHED_NPARKED = 132;
    public static final int SCHED_SHUTDOWN = 140;
    public static final int SCHED_SPACE_WAITERS = 256;
    public static final int SCHED_SPACE_SIGNALLED = 260;
    public static final int SCHED_SPACE_SEQ = 264;
    public static final int SCHED_SPACE_PARKERS = 268;
    public static final int SCHED_CHUNKS = 320;
    public static final int SCHED_STATS = 320 + 8 * 1024;
    public static final int SCHED_HEADER_SIZE = SCHED_STATS;

    public static final int STATS_SIZE = 64;
    public static final int STATS_TASKS_RUN = 0;
    public static final int STATS_PARKS = 8;
    public static final int STATS_WAKEUPS = 16;
    public static final int STATS_STEALS = 24;
    public static final int STATS_CANCELLED = 32;
    public static final int STATS_TID = 40;
    public static final int STATS_STACKS = 56;

    public static final int POOL_CHUNK_SHIFT = 12;
    public static final int POOL_CHUNK = 1 << POOL_CHUNK_SHIFT;
    public static final int POOL_MAX_CHUNKS = 1024;
    public static final int POOL_CALL_ROWS = POOL_CHUNK << TASK_SHIFT; // a chunk's call rows, after its descriptors
    public static final int POOL_CHUNK_BYTES = POOL_CALL_ROWS + POOL_CHUNK * 192;

    // struct spn_call: a typed call's row, one per descriptor after its chunk's descriptors.
    public static final int CALL_SIZE = 192;
    public static final int CALL_FN = 0;
    public static final int CALL_RET_KIND = 8;
    public static final int CALL_INTS = 64;
    public static final int CALL_FPS = 128;

    // enum spn_task_state and the waiter bits.
    public static final int STATE_MASK = 0xff;
    public static final int STATE_QUEUED = 1;
    public static final int STATE_DONE = 3;
    public static final int STATE_CANCELLED = 4;
    public static final int STATE_FAILED = 5;
    public static final int STATE_CRASHED = 6;
    /** In a group's cancelled word: a chunk of the batch crashed (SPN_GROUP_CRASHED). */
    public static final int GROUP_CRASHED = 2;
    public static final int WAITER_JAVA = 0x200;

    // Task references (refs, the low half of owners): the run, the handles, those held by Java.
    public static final int REF_RUN = 1;
    public static final int REF_HANDLE = 2;
    public static final int REF_HANDLE_MASK = 0x007ffffe;
    public static final int REF_JAVA = 1 << 23;
    public static final int REF_JAVA_MASK = 0xff800000;

    /** In the completion ring: a worker freed a submission slot while producers waited. */
    public static final long COMPLETION_SPACE = 2;

    // enum spn_shutdown.
    public static final int SHUTDOWN_DRAIN = 1;
    public static final int SHUTDOWN_CANCEL = 2;

    private Layout() {}

    /** Compares every assumed offset with the native library's; throws naming each mismatch. */
    public static void verify() {
        long keyCount = SchedNative.spn_sched_layout(Key.values().length);
        StringBuilder mismatches = new StringBuilder();
        if (keyCount != Key.values().length) {
            mismatches.append(" key count: Java ").append(Key.values().length).append(", C ").append(keyCount).append(';');
        }
        for (Key key : Key.values()) {
            long actual = SchedNative.spn_sched_layout(key.ordinal());
            if (actual != key.expected) {
                mismatches.append(' ').append(key).append(": Java ").append(key.expected).append(", C ").append(actual).append(';');
            }
        }
        if (mismatches.length() > 0) {
            throw new IllegalStateException("spindle_sched.h and its Java mirror (Layout) disagree:" + mismatches
                    + " rebuild the native library, or update Layout to the header");
        }
    }
}
