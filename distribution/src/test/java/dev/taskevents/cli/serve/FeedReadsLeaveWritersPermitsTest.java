package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.testkit.Await;
import java.lang.reflect.Field;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Feed polls that wait for one of the few read slots do not hold the in-flight permits writers
 * need. One commit wakes every parked poll at once (256 by default, as many as the default
 * {@code --max-in-flight}); only {@link FeedReadLimits#READS_AT_ONCE} of them can read, and a poll
 * queued for a slot that already holds a permit takes it from the writers for up to a second.
 * Forced: five parked polls with maxInFlight 5 are woken through the feed's listener while reads
 * are held in the store; once four are reading and the fifth is queued for a slot, a worker's
 * event must still be taken.
 */
@Timeout(120)
class FeedReadsLeaveWritersPermitsTest {
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger inRead = new AtomicInteger();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean holdReads;
    private ServeOnFeed serve;

    @AfterEach
    void stop() {
        release.countDown();
        if (serve != null) {
            serve.close();
        }
    }

    private static Object field(Object owner, String name) throws Exception {
        Field f = owner.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(owner);
    }

    @Test
    void pollsQueuedForAReadSlotLeaveWritersTheirPermits() throws Exception {
        int maxInFlight = FeedReadLimits.READS_AT_ONCE + 1;
        serve = ServeOnFeed.start(Stores.open("memory:"), real -> new ForwardingStateEventFeed(real) {
            @Override
            public FeedPage read(long after, int limit) {
                if (holdReads) {
                    inRead.incrementAndGet();
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return real.read(after, limit);
            }

            @Override
            public void addListener(Runnable appended) {
                listeners.add(appended);
                real.addListener(appended);
            }

            @Override
            public void removeListener(Runnable appended) {
                listeners.remove(appended);
                real.removeListener(appended);
            }
        }, ServeOnFeed.loopback().maxInFlight(maxInFlight));
        serve.store.insert(List.of(TaskInstance.submitted(1, 7, "t1", Instant.now())));

        List<CompletableFuture<HttpResponse<String>>> polls = new ArrayList<>();
        for (int i = 0; i < maxInFlight; i++) {
            polls.add(serve.getAsync("/v1/state-events?after=latest&wait=30"));
        }
        Await.until(() -> serve.server.parkedPolls() == maxInFlight);
        holdReads = true;
        listeners.forEach(Runnable::run); // a commit: every parked poll is woken and reads again
        Semaphore slots = (Semaphore) field(field(field(serve.server, "stateEvents"), "limits"), "reads");
        Await.until(() -> inRead.get() == FeedReadLimits.READS_AT_ONCE && slots.getQueueLength() == 1);

        // A worker's event while READS_AT_ONCE feed reads are in the store and one more poll is
        // queued for a read slot: taken (2xx), not refused for want of an in-flight permit.
        serve.running("r1", 7, 1);
        release.countDown();
        for (CompletableFuture<HttpResponse<String>> p : polls) {
            int status = p.get(30, TimeUnit.SECONDS).statusCode();
            assertTrue(status == 200 || status == 503, "a woken poll answered " + status);
        }
    }
}
