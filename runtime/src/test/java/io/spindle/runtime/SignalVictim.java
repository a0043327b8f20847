package io.spindle.runtime;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;

/**
 * A JVM with raw threads running, for SignalsTest. Modes:
 * <ul>
 * <li>{@code wait}: four raw threads wait at a gate; prints READY; a line on stdin opens the
 *     gate, the threads are joined, prints JOINED and exits 0. A shutdown hook opens the gate
 *     and joins them too (SIGTERM), printing HOOK JOINED.</li>
 * <li>{@code crash}: a raw thread dereferences NULL.</li>
 * <li>{@code stray SIG}: a raw thread waits at a gate; prints its SigBlk, sends it signal SIG
 *     with tgkill (from this process, as glibc's own senders do), prints SigPnd, then opens
 *     the gate and prints JOINED with its result.</li>
 * </ul>
 */
public final class SignalVictim {
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "wait" -> waitMode();
            case "crash" -> {
                System.out.println("CRASHING");
                System.out.flush();
                NativeThread.start(TestLib.fn("spn_test_null_dereference"), 0).join();
                System.out.println("SURVIVED (wrong)");
            }
            case "stray" -> strayMode(Integer.parseInt(args[1]));
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    interface Libc extends com.sun.jna.Library {
        Libc INSTANCE = com.sun.jna.Native.load("c", Libc.class);

        int tgkill(int tgid, int tid, int sig);

        long syscall(long number, Object... args);
    }

    /**
     * A JVM started by Java (posix_spawn) inherits 32 and 33 as ignored, one started from a
     * shell does not: the signal gets the disposition it has in the second case (glibc's
     * sigaction refuses these two signals, so the raw system call does it).
     */
    private static void restoreDefaultDisposition(int signal) {
        long rtSigaction = System.getProperty("os.arch").equals("aarch64") ? 134 : 13;
        Memory defaultAction = new Memory(64); // struct kernel_sigaction, zeroed: SIG_DFL, no flags, empty mask
        defaultAction.clear();
        long rc = Libc.INSTANCE.syscall(rtSigaction, (long) signal, defaultAction, Pointer.NULL, 8L);
        if (rc != 0) throw new IllegalStateException("rt_sigaction(" + signal + ") failed");
    }

    private static void strayMode(int signal) throws Exception {
        if ((Long.parseUnsignedLong(statusField((int) ProcessHandle.current().pid(), "SigIgn:"), 16) & (1L << (signal - 1))) != 0) {
            restoreDefaultDisposition(signal);
        }
        Memory gate = TestLib.word();
        NativeThread t = NativeThread.start(TestLib.fn("spn_test_wait_gate"), Pointer.nativeValue(gate));
        System.out.println("SIGBLK " + statusField(t.tid(), "SigBlk:"));
        System.out.flush();
        int pid = (int) ProcessHandle.current().pid();
        if (Libc.INSTANCE.tgkill(pid, t.tid(), signal) != 0) throw new IllegalStateException("tgkill failed");
        Thread.sleep(300); // a delivered signal would have run its handler by now
        System.out.println("SIGPND " + statusField(t.tid(), "SigPnd:"));
        System.out.flush();
        TestLib.Direct.INSTANCE.spn_test_open_gate(gate);
        System.out.println("JOINED " + t.join());
        System.out.flush();
    }

    private static String statusField(int tid, String field) throws java.io.IOException {
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/task/" + tid + "/status"))) {
            if (line.startsWith(field)) return line.substring(field.length()).trim();
        }
        throw new IllegalStateException(field + " not in the status of " + tid);
    }

    private static void waitMode() throws Exception {
        Memory gate = TestLib.word();
        List<NativeThread> threads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            threads.add(NativeThread.start(TestLib.fn("spn_test_wait_gate"), Pointer.nativeValue(gate)));
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            TestLib.Direct.INSTANCE.spn_test_open_gate(gate);
            long sum = 0;
            for (NativeThread t : threads) sum += t.join();
            System.out.println("HOOK JOINED " + sum);
            System.out.flush();
        }));
        System.out.println("READY");
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in)).readLine();
        TestLib.Direct.INSTANCE.spn_test_open_gate(gate);
        long sum = 0;
        for (NativeThread t : threads) sum += t.join();
        System.out.println("JOINED " + sum);
        System.out.flush();
    }
}
