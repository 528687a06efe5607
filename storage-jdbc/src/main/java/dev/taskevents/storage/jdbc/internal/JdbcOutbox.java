package dev.taskevents.storage.jdbc.internal;

import static dev.taskevents.storage.jdbc.internal.OutboxTable.ENTRIES;
import static dev.taskevents.storage.jdbc.internal.OutboxTable.OUTBOX;
import static dev.taskevents.storage.jdbc.internal.OutboxTable.SEQ;

import dev.taskevents.api.StateEvent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.jooq.DSLContext;
import org.jooq.Record2;

/**
 * The JDBC store's outbox: one row per batch write, holding its state events ({@link OutboxTable}).
 *
 * <p>Removal: told events are named by (task, version). For events this store wrote, {@link #rowOf}
 * knows the row; it is filled only after the batch's transaction returned, so it never names a
 * row that was rolled back. Events it does not know (written by an earlier process, by another
 * node of a cluster, or by a batch whose commit outcome was unknown) are found by reading the
 * whole table without locks: that happens at start, at a shard's takeover and after faults, when
 * the table holds only what was not told. A told event was committed before it was told, so that
 * read sees its row. Only the rows found are then read again {@code FOR UPDATE}, in {@code seq}
 * order, and rewritten from what that locked read returned, so two removals never rewrite one row
 * from the same old text. A row whose events are all told is deleted; one with some left is
 * rewritten with the rest.
 *
 * <p>Every node's batches insert into this table, so a removal must not lock more than the rows
 * it changes: the caller runs it in READ COMMITTED, where a locking read takes no gap locks
 * (InnoDB's REPEATABLE READ would lock the gaps and the end of the index, and a node stopped inside
 * a removal that read the whole table {@code FOR UPDATE} would stall every node's outbox inserts).
 */
final class JdbcOutbox {
    private static final int CHUNK = 1_000;

    private record Key(long taskInstanceId, long version) {
        static Key of(StateEvent e) {
            return new Key(e.taskInstanceId(), e.version());
        }
    }

    /** Outbox row of each event this store wrote and has not removed. */
    private final Map<Key, Long> rowOf = new ConcurrentHashMap<>();

    /** Writes one row with {@code events}, in the caller's transaction; returns its {@code seq}. */
    long record(DSLContext t, List<StateEvent> events) {
        return t.insertInto(OUTBOX).columns(ENTRIES).values(OutboxTable.encode(events)).returningResult(SEQ)
                .fetchOne().value1();
    }

    /** The transaction that wrote row {@code seq} with {@code events} returned: remember where they are. */
    void committed(long seq, List<StateEvent> events) {
        events.forEach(e -> rowOf.put(Key.of(e), seq));
    }

    List<StateEvent> pending(DSLContext sql, int limit) {
        List<StateEvent> events = new ArrayList<>();
        for (Record2<Long, String> row : sql.select(SEQ, ENTRIES).from(OUTBOX).orderBy(SEQ).limit(limit).fetch()) {
            for (StateEvent e : OutboxTable.decode(row.value2())) {
                if (events.size() == limit) {
                    return events;
                }
                events.add(e);
            }
        }
        return events;
    }

    /**
     * The oldest {@code limit} events that {@code keep} accepts, in {@code seq} order: rows are read
     * a page at a time (each page its own statement, after the last {@code seq} seen), so a table
     * holding many entries of other shards is not read at once.
     */
    List<StateEvent> pending(DSLContext sql, Predicate<StateEvent> keep, int limit) {
        List<StateEvent> events = new ArrayList<>();
        long after = Long.MIN_VALUE;
        while (true) {
            List<Record2<Long, String>> page = sql.select(SEQ, ENTRIES).from(OUTBOX).where(SEQ.gt(after))
                    .orderBy(SEQ).limit(CHUNK).fetch();
            for (Record2<Long, String> row : page) {
                for (StateEvent e : OutboxTable.decode(row.value2())) {
                    if (keep.test(e)) {
                        events.add(e);
                        if (events.size() == limit) {
                            return events;
                        }
                    }
                }
                after = row.value1();
            }
            if (page.size() < CHUNK) {
                return events;
            }
        }
    }

    List<StateEvent> pending(DSLContext sql, long workflowInstanceId) {
        List<StateEvent> events = new ArrayList<>();
        for (Record2<Long, String> row : sql.select(SEQ, ENTRIES).from(OUTBOX).orderBy(SEQ).fetch()) {
            for (StateEvent e : OutboxTable.decode(row.value2())) {
                if (e.workflowInstanceId() == workflowInstanceId) {
                    events.add(e);
                }
            }
        }
        return events;
    }

    /**
     * Removes {@code told} in the caller's transaction, which must be READ COMMITTED (see the class
     * comment); call {@link #forget} after it committed.
     */
    void remove(DSLContext t, Collection<StateEvent> told) {
        Set<Key> keys = new HashSet<>();
        Set<Long> rows = new HashSet<>();
        boolean unknown = false;
        for (StateEvent e : told) {
            Key key = Key.of(e);
            keys.add(key);
            Long seq = rowOf.get(key);
            if (seq == null) {
                unknown = true;
            } else {
                rows.add(seq);
            }
        }
        if (unknown) {
            // The rows holding any told event, found without locks; locked and read again below.
            for (Record2<Long, String> row : t.select(SEQ, ENTRIES).from(OUTBOX).orderBy(SEQ).fetch()) {
                if (OutboxTable.decode(row.value2()).stream().anyMatch(e -> keys.contains(Key.of(e)))) {
                    rows.add(row.value1());
                }
            }
        }
        List<Record2<Long, String>> candidates = new ArrayList<>();
        List<Long> sortedRows = rows.stream().sorted().toList();
        for (int from = 0; from < sortedRows.size(); from += CHUNK) {
            candidates.addAll(t.select(SEQ, ENTRIES).from(OUTBOX)
                    .where(SEQ.in(sortedRows.subList(from, Math.min(sortedRows.size(), from + CHUNK))))
                    .orderBy(SEQ).forUpdate().fetch());
        }
        List<Long> emptied = new ArrayList<>();
        for (Record2<Long, String> row : candidates) {
            List<StateEvent> events = OutboxTable.decode(row.value2());
            List<StateEvent> rest = events.stream().filter(e -> !keys.contains(Key.of(e))).toList();
            if (rest.isEmpty()) {
                emptied.add(row.value1());
            } else if (rest.size() < events.size()) {
                t.update(OUTBOX).set(ENTRIES, OutboxTable.encode(rest)).where(SEQ.eq(row.value1())).execute();
            }
        }
        for (int from = 0; from < emptied.size(); from += CHUNK) {
            t.deleteFrom(OUTBOX).where(SEQ.in(emptied.subList(from, Math.min(emptied.size(), from + CHUNK)))).execute();
        }
    }

    /** The removal of {@code told} committed. */
    void forget(Collection<StateEvent> told) {
        told.forEach(e -> rowOf.remove(Key.of(e)));
    }
}
