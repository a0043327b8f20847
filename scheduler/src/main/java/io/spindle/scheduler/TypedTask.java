package io.spindle.scheduler;

import com.sun.jna.Memory;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

import static io.spindle.scheduler.internal.Layout.CALL_RET_FP;

/**
 * A typed call submitted with {@link Spindle#call}: its result as the declared return type
 * says. Joins wait as {@link Task}'s do (a futex on a platform thread, a park on a virtual
 * one). The call's row (its arguments and results, native memory) and the Java objects
 * passed as its arguments (a JNA Memory given as a pointer) stay reachable from the runtime
 * until the call has ended and been joined, or the runtime has terminated, so a TypedTask
 * dropped while its call runs can never have them freed under the worker.
 */
public final class TypedTask {
    private final Spindle spindle;
    private final Task task;
    private final Memory row;
    private final TypedFunction function;
    @SuppressWarnings("unused") private final Object[] args;
    private boolean doubleRead; // guarded by this
    private double doubleResult;

    TypedTask(Spindle spindle, Task task, Memory row, TypedFunction function, Object[] args) {
        this.spindle = spindle;
        this.task = task;
        this.row = row;
        this.function = function;
        this.args = args; // a Memory passed as a pointer stays reachable with this, as the row does
    }

    /**
     * Waits for the call and returns its integer or pointer result, narrowed and extended as
     * the return type says (0 for VOID). For a float or double result use {@link #joinDouble()}.
     */
    public long join() {
        function.requireIntegerResult();
        return function.signature().returns().fromRegister(finish(task.join()));
    }

    public long join(Duration timeout) throws TimeoutException {
        function.requireIntegerResult();
        return function.signature().returns().fromRegister(finish(task.join(timeout)));
    }

    /** Waits for the call and returns its float or double result. */
    public double joinDouble() {
        function.requireFloatingPointResult();
        task.join();
        return finishDouble();
    }

    public double joinDouble(Duration timeout) throws TimeoutException {
        function.requireFloatingPointResult();
        task.join(timeout);
        return finishDouble();
    }

    /** True once the call has ended. Never blocks. */
    public boolean isDone() {
        return task.isDone();
    }

    public TypedFunction function() {
        return function;
    }

    private long finish(long raw) {
        spindle.heldForTasks.remove(this); // ended and read: the row may go with this object
        return raw;
    }

    private synchronized double finishDouble() {
        if (!doubleRead) {
            long bits = row.getLong(CALL_RET_FP); // the join ordered the worker's store before this read
            doubleResult = function.signature().returns().fromFloatingPointRegister(bits);
            doubleRead = true;
            spindle.heldForTasks.remove(this);
        }
        return doubleResult;
    }

    @Override
    public String toString() {
        return "TypedTask[" + function + ", " + task + "]";
    }
}
