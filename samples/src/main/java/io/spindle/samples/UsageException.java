package io.spindle.samples;

/** Bad input on the command line: Main prints the message and the usage, exits with 2. */
public class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
