package dev.taskevents.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpHeaders;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BackoffTest {
    @Test
    void fullJitterStaysWithinTheDoublingCeilingAndTheCap() {
        Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10));
        long max = 0;
        for (int i = 0; i < 2_000; i++) {
            long d1 = backoff.delayNanos(1);
            assertTrue(d1 >= 0 && d1 <= Duration.ofMillis(100).toNanos(), String.valueOf(d1));
            long d4 = backoff.delayNanos(4);
            assertTrue(d4 <= Duration.ofMillis(800).toNanos(), String.valueOf(d4));
            long d100 = backoff.delayNanos(100);
            assertTrue(d100 <= Duration.ofSeconds(10).toNanos(), String.valueOf(d100));
            max = Math.max(max, d100);
            assertTrue(backoff.delayNanos(1, Duration.ofSeconds(1).toNanos()) >= Duration.ofSeconds(1).toNanos());
        }
        assertTrue(max > Duration.ofSeconds(5).toNanos(), "jitter spreads over the whole range, up to the cap");
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
    }

    @Test
    void retryAfterInSecondsIsAFloorAndAnythingElseIsAbsent() {
        assertEquals(Duration.ofSeconds(3).toNanos(), Backoff.retryAfterNanos(headers("3")));
        assertEquals(Duration.ofHours(1).toNanos(), Backoff.retryAfterNanos(headers("999999")));
        assertEquals(0, Backoff.retryAfterNanos(headers("Fri, 27 Nov 2026 10:00:00 GMT")));
        assertEquals(0, Backoff.retryAfterNanos(headers("-1")));
        assertEquals(0, Backoff.retryAfterNanos(HttpHeaders.of(Map.of(), (a, b) -> true)));
    }

    @Test
    void routesRememberOwnersAndAvoidAFailedNode() {
        URI a = URI.create("http://a:1");
        URI b = URI.create("http://b:1");
        URI c = URI.create("http://c:1");
        Routes routes = new Routes(List.of(a, b), 0);
        assertEquals(a, routes.target(7, null));
        assertEquals(b, routes.target(7, a), "the node after the one that failed");
        routes.moved(7, 3, c);
        assertEquals(c, routes.target(7, null));
        assertEquals(a, routes.target(8, null), "per workflow without a shard count");
        routes.unreachable(c);
        assertEquals(a, routes.target(7, null), "an unreachable owner is forgotten");
        routes.unreachable(a);
        assertEquals(b, routes.target(9, null), "the preferred node moved past the failed one");
        assertEquals(null, Routes.ownerUri("not a uri at all"));
        assertEquals(null, Routes.ownerUri("/relative"));
        assertEquals(c, Routes.ownerUri(" http://c:1 "));
    }

    private static HttpHeaders headers(String retryAfter) {
        return HttpHeaders.of(Map.of("Retry-After", List.of(retryAfter)), (x, y) -> true);
    }
}
