package io.spindle.scheduler;

import java.util.List;

/**
 * Counters of a {@link Spindle}: per worker, and totals. Each worker writes only its own
 * counters; a snapshot read while tasks run is racy, which is fine for statistics.
 *
 * @param workers       one entry per worker
 * @param submitted     tasks accepted by the submission ring so far
 * @param descriptors   task descriptors allocated (they are recycled; this is the high-water mark)
 */
public record SpindleStats(List<Worker> workers, long submitted, long descriptors) {
    public SpindleStats {
        workers = List.copyOf(workers);
    }

    /**
     * @param tasksRun  tasks this worker ran to the end
     * @param parks     times it went to sleep on the futex
     * @param wakeups   times it was woken from that sleep
     * @param steals    tasks it took from another worker's queue
     * @param cancelled tasks it cancelled during shutdownNow()
     * @param stacks    green-thread stacks it holds: running, parked or cached for reuse
     */
    public record Worker(int index, int tid, long tasksRun, long parks, long wakeups, long steals, long cancelled,
                         long stacks) {}

    public long tasksRun() {
        return workers.stream().mapToLong(Worker::tasksRun).sum();
    }

    public long parks() {
        return workers.stream().mapToLong(Worker::parks).sum();
    }

    public long wakeups() {
        return workers.stream().mapToLong(Worker::wakeups).sum();
    }

    public long steals() {
        return workers.stream().mapToLong(Worker::steals).sum();
    }

    public long stacks() {
        return workers.stream().mapToLong(Worker::stacks).sum();
    }

    public long cancelled() {
        return workers.stream().mapToLong(Worker::cancelled).sum();
    }
}
