package dev.taskevents.client.internal;

import java.net.URI;
import java.util.Locale;

/**
 * Where a node URI connects: its scheme and host in lower case and its effective port (80 for
 * http://, 443 for https:// when the URI names none). Two URIs with the same address reach the same
 * server the same way, whatever their paths, a trailing slash or the case of their host:
 * {@code http://Te-A:80/} and {@code http://te-a} are one address.
 */
record NodeAddress(String scheme, String host, int port) {
    /** The address of an absolute http(s) URI with a host (a node URI or an owner from {@link Routes#ownerUri}). */
    static NodeAddress of(URI uri) {
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        int port = uri.getPort() != -1 ? uri.getPort() : "https".equals(scheme) ? 443 : 80;
        return new NodeAddress(scheme, uri.getHost().toLowerCase(Locale.ROOT), port);
    }
}
