package dev.taskevents.client;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What a {@link ServerUnavailableException} tells its caller to do depends on what was not answered. */
class ServerUnavailableAdviceTest {
    private static String message(String what) {
        return new ServerUnavailableException(what, "[http://127.0.0.1:1]", Duration.ofSeconds(5),
                new IOException("refused")).getMessage();
    }

    @Test
    void anEventIsToBeResent() {
        String message = message("event e1");
        assertTrue(message.endsWith("the event was not acknowledged: resend it"), message);
    }

    @Test
    void aTaskCreationMayHaveHappenedAndIsRefusedIfRepeatedAfterIt() {
        String message = message("the creation of task instances [1, 2]");
        assertTrue(message.contains("the tasks may or may not exist"), message);
        assertTrue(message.contains("TaskCreationRefusedException (409)"), message);
        assertFalse(message.contains("cursor"), message);
    }

    @Test
    void aFeedReadIsRepeatedFromTheLastStoredCursor() {
        String message = message("the feed");
        assertTrue(message.endsWith("read again from the last stored cursor"), message);
    }
}
