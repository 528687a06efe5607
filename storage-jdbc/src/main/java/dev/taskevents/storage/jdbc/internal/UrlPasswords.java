package dev.taskevents.storage.jdbc.internal;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a JDBC URL holds a password: the one place that knows, so that what is redacted from
 * messages and what is looked for in a driver's message cannot disagree.
 */
public final class UrlPasswords {
    /** {@code password=} and Connector/J's {@code password1=}...; the value ends at {@code &}, {@code ;} or {@code )}. */
    private static final Pattern PROPERTY = Pattern.compile("(?i)(password\\d*=)([^&;)]*)");
    /** {@code user:password@} before the host. */
    private static final Pattern USER_INFO = Pattern.compile("(//[^/@:]*:)([^/@]*)@");

    private UrlPasswords() {}

    /** {@code url} with every password replaced by {@code ***}. */
    public static String redact(String url) {
        return USER_INFO.matcher(PROPERTY.matcher(url).replaceAll("$1***")).replaceAll("$1***@");
    }

    /** The first password in {@code url} (a password property, else user info), or null. */
    static String find(String url) {
        Matcher property = PROPERTY.matcher(url);
        if (property.find()) {
            return property.group(2);
        }
        Matcher userInfo = USER_INFO.matcher(url);
        return userInfo.find() ? userInfo.group(2) : null;
    }
}
