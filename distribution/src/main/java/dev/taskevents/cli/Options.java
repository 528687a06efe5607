package dev.taskevents.cli;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code --name value}, {@code --name=value} and {@code --flag} options of one command. Anything
 * unknown, repeated or missing its value is a {@link UsageException} naming it.
 */
public final class Options {
    private final String command;
    private final Map<String, String> values = new HashMap<>();

    private Options(String command) {
        this.command = command;
    }

    /**
     * @param withValue the option names (without dashes) that take a value
     * @param flags the option names that take none
     */
    public static Options parse(String command, List<String> args, Set<String> withValue, Set<String> flags) {
        Options options = new Options(command);
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (!arg.startsWith("--")) {
                throw options.usage("unexpected argument \"" + arg + "\"");
            }
            String name = arg.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (flags.contains(name)) {
                if (value != null) {
                    throw options.usage("--" + name + " takes no value");
                }
                value = "true";
            } else if (withValue.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.size()) {
                        throw options.usage("--" + name + " needs a value");
                    }
                    value = args.get(++i);
                }
            } else {
                throw options.usage("unknown option --" + name);
            }
            if (options.values.put(name, value) != null) {
                throw options.usage("--" + name + " is given twice");
            }
        }
        return options;
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    public int getInt(String name, int fallback, int min, int max) {
        String raw = values.get(name);
        if (raw == null) {
            return fallback;
        }
        try {
            int value = Integer.parseInt(raw.trim());
            if (value < min || value > max) {
                throw usage("--" + name + " must be between " + min + " and " + max + ", was " + value);
            }
            return value;
        } catch (NumberFormatException e) {
            throw usage("--" + name + " must be a whole number, was \"" + raw + "\"");
        }
    }

    public double getRate(String name, double fallback) {
        String raw = values.get(name);
        if (raw == null) {
            return fallback;
        }
        try {
            double value = Double.parseDouble(raw.trim());
            if (!(value >= 0 && value <= 1)) {
                throw usage("--" + name + " must be a rate between 0 and 1, was " + raw);
            }
            return value;
        } catch (NumberFormatException e) {
            throw usage("--" + name + " must be a rate between 0 and 1, was \"" + raw + "\"");
        }
    }

    public UsageException usage(String problem) {
        return new UsageException(command + ": " + problem + " (see: taskevents " + command + " --help)");
    }
}
