package dev.taskevents.client.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which owner of another scheme may be followed: a configured node, matched by address, and nothing else. */
class RoutesTest {
    private static final URI TLS_NODE = URI.create("https://te-a:8443");

    @Test
    void aConfiguredNodeIsMatchedByItsAddressWhateverItsTrailingSlashHostCaseOrDefaultPort() {
        Routes routes = new Routes(List.of(TLS_NODE, URI.create("http://te-b:8080/"), URI.create("http://te-c")), 0);
        assertTrue(routes.mayFollow(TLS_NODE, URI.create("http://te-b:8080")));
        assertTrue(routes.mayFollow(TLS_NODE, URI.create("http://TE-B:8080/")));
        assertTrue(routes.mayFollow(TLS_NODE, URI.create("http://te-c:80")));
    }

    @Test
    void anOwnerOfAnotherSchemeAtAnAddressNotConfiguredIsNotFollowed() {
        Routes routes = new Routes(List.of(TLS_NODE, URI.create("http://te-b:8080/")), 0);
        assertFalse(routes.mayFollow(TLS_NODE, URI.create("http://te-b:8081")), "another port");
        assertFalse(routes.mayFollow(TLS_NODE, URI.create("http://te-d:8080")), "another host");
        assertFalse(routes.mayFollow(TLS_NODE, URI.create("http://te-a:8443")), "a configured https:// node's address over http://");
    }
}
