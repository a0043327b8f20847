package io.spindle.samples;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The samples tool: {@code java -jar spindle-samples.jar COMMAND [ARGS]} (or
 * {@code ./spindle tour}, {@code ./spindle samples COMMAND}). Commands are found with
 * {@link ServiceLoader} ({@code META-INF/services/io.spindle.samples.Command}), listed in the
 * order of that file.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** The tool without System.exit, for tests. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Map<String, Command> commands = commands();
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            usage(commands, args.length == 0 ? err : out);
            return args.length == 0 ? 2 : 0;
        }
        Command command = commands.get(args[0]);
        if (command == null) {
            err.println("unknown command '" + args[0] + "'");
            usage(commands, err);
            return 2;
        }
        List<String> rest = new ArrayList<>(List.of(args).subList(1, args.length));
        try {
            return command.run(rest, out);
        } catch (UsageException e) {
            err.println(command.name() + ": " + e.getMessage());
            usage(commands, err);
            return 2;
        } catch (Exception e) {
            err.println(command.name() + " failed: " + e);
            return 1;
        }
    }

    public static Map<String, Command> commands() {
        Map<String, Command> commands = new LinkedHashMap<>();
        for (Command c : ServiceLoader.load(Command.class)) commands.put(c.name(), c);
        return commands;
    }

    private static void usage(Map<String, Command> commands, PrintStream to) {
        to.println("usage: spindle-samples COMMAND [ARGS]   (./spindle samples COMMAND, ./spindle tour)");
        to.println();
        for (Command c : commands.values()) to.printf("  %-14s %s%n", c.name(), c.summary());
    }
}
