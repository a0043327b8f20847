package io.spindle.scheduler;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * A typed call submitted with {@link Spindle#call}: its result as the declared return type
 * says. Joins wait as {@link Task}'s do (a futex on a platform thread, a park on a virtual
 * one). The call's arguments live in its descriptor's row until it has run; a JNA Memory
 * passed as a pointer stays reachable from the runtime until the call has ended and been
 * joined, or the runtime has terminated, so a TypedTask dropped while its call runs can never
 * have it freed under the worker.
 */
public final class TypedTask {
    private final Task task;
    private final TypedFunction function;

    TypedTask(Task task, TypedFunction function) {
        this.task = task;
        this.function = function;
    }

    /**
     * Waits for the call and returns its integer or pointer result, narrowed and extended as
     * the return type says (0 for VOID). For a float or double result use {@link #joinDouble()}.
     */
    public long join() {
        function.requireIntegerResult();
        return function.signature().returns().fromRegister(task.join());
    }

    public long join(Duration timeout) throws TimeoutException {
        function.requireIntegerResult();
        return function.signature().returns().fromRegister(task.join(timeout));
    }

    /** Waits for the call and returns its float or double result. */
    public double joinDouble() {
        function.requireFloatingPointResult();
        return function.signature().returns().fromFloatingPointRegister(task.join());
    }

    public double joinDouble(Duration timeout) throws TimeoutException {
        function.requireFloatingPointResult();
        return function.signature().returns().fromFloatingPointRegister(task.join(timeout));
    }

    /** True once the call has ended. Never blocks. */
    public boolean isDone() {
        return task.isDone();
    }

    public TypedFunction function() {
        return function;
    }

    @Override
    public String toString() {
        return "TypedTask[" + function + ", " + task + "]";
    }
}
