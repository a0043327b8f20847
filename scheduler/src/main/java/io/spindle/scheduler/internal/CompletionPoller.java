package io.spindle.scheduler.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tells Java waiters that their task ended. Workers do not call Java (an attach per completion
 * would cost microseconds, and a worker must never block in the JVM), so a task with a Java waiter (a virtual thread that must not block in native
 * code, a CompletableFuture) gets the waiter bit in its state word; the worker that ends it
 * pushes its address to the completion ring, and this platform thread, asleep in
 * {@code spn_completions_take} until then, wakes the waiters. Tasks nobody waits for this
 * way cost the poller nothing. <b>Internal.</b>
 *
 * <p>The registry is a ConcurrentHashMap keyed by the address. (It was JCTools'
 * NonBlockingHashMapLong, which spared the boxing but reads sun.misc.Unsafe, so every user
 * on JDK 24+ had to allow that by a flag; a box per wait is small beside the park and unpark
 * the waiter pays anyway.) Addresses are reused (descriptors are recycled, group
 * blocks freed), so a report can reach the waiters of a later task at the same address: a
 * waiter checks the state when called, and registers again if its task has not ended.
 */
public final class CompletionPoller implements Runnable {
    /** Someone to tell. Called on the poller thread; must not block, and never runs user code. */
    public interface Waiter {
        void wake();
    }

    private final long sched;
    private final ConcurrentHashMap<Long, Object> waiters = new ConcurrentHashMap<>();
    private final Runnable spaceFreed;
    private final Thread thread;

    /** {@code spaceFreed} runs when a worker took a task from a full submission ring. */
    public CompletionPoller(long sched, String name, Runnable spaceFreed) {
        this.sched = sched;
        this.spaceFreed = spaceFreed;
        this.thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this);
    }

    public void start() {
        thread.start();
    }

    /**
     * Registers a waiter for the task (or tagged group) at {@code key}. Register first, then
     * set the waiter bit: a worker that sees the bit finds the registration.
     */
    public void register(long key, Waiter waiter) {
        while (true) {
            Object current = waiters.putIfAbsent(key, waiter);
            if (current == null) return;
            Object merged = merge(current, waiter);
            if (waiters.replace(key, current, merged)) return;
        }
    }

    /** Takes a waiter back (it stopped waiting: timeout, or the task ended before the bit was set). */
    public void unregister(long key, Waiter waiter) {
        while (true) {
            Object current = waiters.get(key);
            if (current == null) return;
            Object remaining = without(current, waiter);
            boolean done = remaining == null ? waiters.remove(key, current) : waiters.replace(key, current, remaining);
            if (done) return;
        }
    }

    private static Object merge(Object current, Waiter added) {
        List<Waiter> list = new ArrayList<>();
        addAll(list, current);
        list.add(added);
        return List.copyOf(list);
    }

    private static Object without(Object current, Waiter removed) {
        if (current == removed) return null;
        if (!(current instanceof List<?> list)) return current;
        List<Waiter> rest = new ArrayList<>();
        for (Object w : list) if (w != removed) rest.add((Waiter) w);
        return rest.isEmpty() ? null : rest.size() == 1 ? rest.get(0) : List.copyOf(rest);
    }

    private static void addAll(List<Waiter> into, Object entry) {
        if (entry instanceof List<?> list) {
            for (Object w : list) into.add((Waiter) w);
        } else {
            into.add((Waiter) entry);
        }
    }

    @Override
    public void run() {
        long[] batch = new long[256];
        while (true) {
            int n = SchedNative.spn_completions_take(sched, batch, batch.length, -1);
            if (n < 0) return; // stopped and drained
            for (int i = 0; i < n; i++) {
                if (batch[i] == Layout.COMPLETION_SPACE) {
                    spaceFreed.run();
                    continue;
                }
                Object entry = waiters.remove(batch[i]);
                if (entry == null) continue; // nobody waits: they gave up (timeout), or saw the end themselves
                List<Waiter> list = new ArrayList<>(1);
                addAll(list, entry);
                for (Waiter w : list) {
                    try {
                        w.wake();
                    } catch (RuntimeException | Error e) {
                        // One waiter's failure must not stop the deliveries to the others: report it.
                        thread.getUncaughtExceptionHandler().uncaughtException(thread, e);
                    }
                }
            }
        }
    }

    /** Stops after delivering everything already completed; waits for the thread. */
    public void stopAndJoin() {
        SchedNative.spn_poller_stop(sched);
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
