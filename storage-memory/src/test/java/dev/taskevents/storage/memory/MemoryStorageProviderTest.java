package dev.taskevents.storage.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.StorageProvider;
import dev.taskevents.api.spi.TaskInstanceStore;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemoryStorageProviderTest {

    @Test
    void serviceLoaderFindsTheMemoryProviderOnTheModulePath() {
        List<StorageProvider> providers = Stores.providers();
        assertTrue(providers.stream().anyMatch(p -> p instanceof MemoryStorageProvider), "found: " + providers);
        assertTrue(MemoryStorageProviderTest.class.getModule().isNamed(), "tests must run on the module path");
        try (TaskInstanceStore store = Stores.open("memory:")) {
            assertInstanceOf(MemoryTaskInstanceStore.class, store);
        }
    }

    @Test
    void unknownUrlListsTheProvidersAndTheirPrefixes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Stores.open("redis://localhost"));
        assertEquals("no storage provider serves the URL \"redis://localhost\"; providers found: memory [memory:]",
                e.getMessage());
    }

    @Test
    void noProvidersAtAllSaysWhatToAdd() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Stores.open("memory:", List.of()));
        assertTrue(e.getMessage().contains("none was found"), e.getMessage());
    }

    @Test
    void namedStoresAreSharedAndAnonymousOnesAreFresh() {
        TaskInstanceStore a = Stores.open("memory:shared-test");
        TaskInstanceStore b = Stores.open("memory:shared-test");
        assertNotSame(a, b, "each open is its own handle, closed on its own");
        a.insert(List.of(TaskInstance.submitted(1, 1, "t", Instant.EPOCH)));
        assertTrue(b.find(1).isPresent());
        assertNotSame(Stores.open("memory:"), Stores.open("memory:"));
        assertTrue(Stores.open("memory:").find(1).isEmpty());
    }

    @Test
    void badNamesAreRefusedWithTheRule() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Stores.open("memory:a b"));
        assertTrue(e.getMessage().contains("\"a b\""), e.getMessage());
    }

    /** Each open of a named store is a handle: closing one leaves the data and the other handles working. */
    @Test
    void closingOneHandleOfANamedStoreLeavesTheOthersWorking() {
        TaskInstanceStore a = Stores.open("memory:close-test");
        TaskInstanceStore b = Stores.open("memory:close-test");
        a.insert(List.of(TaskInstance.submitted(5, 5, "t", Instant.EPOCH)));
        a.close();
        assertThrows(dev.taskevents.api.spi.StoreException.class, () -> a.find(5));
        assertTrue(b.find(5).isPresent());
        assertTrue(Stores.open("memory:close-test").find(5).isPresent());
    }
}
