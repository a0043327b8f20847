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
            default -> throw new IllegalArgumentException(args[0]);
        }
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
