package io.magnetar.engine.pipeline;

import io.magnetar.codecs.MessageHeaderDecoder;
import io.magnetar.codecs.NodeStartedDecoder;
import io.magnetar.engine.CommandHandler;
import io.magnetar.engine.SnapshotLoadException;
import io.magnetar.engine.Snapshottable;
import io.magnetar.engine.journal.Journal;
import io.magnetar.engine.journal.JournalReader;
import io.magnetar.engine.journal.ReplayResult;
import io.magnetar.engine.snapshot.SnapshotInfo;
import io.magnetar.engine.snapshot.SnapshotReader;
import io.magnetar.engine.snapshot.SnapshotStore;
import org.agrona.DirectBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Rebuilds the command handler's state at start: the latest complete snapshot that joins the journal, then the
 * journal entries after it; with no usable snapshot, the whole journal (unless journal cycles were deleted, when
 * that would be a wrong state: then it refuses).
 * <p>
 * A snapshot is usable if its file is complete and intact ({@link SnapshotReader#verify()}), the journal still holds
 * the entry it was taken after (same index and time stamp), and the handler loads it. Each one that is not is logged
 * with the reason and renamed {@code .rejected} (so a later start never picks it, e.g. once new entries reuse its
 * index after a torn journal tail), and the next older one is tried.
 * <p>
 * The file is read once: its first record says which journal entry it follows, and the handler loads it while it is
 * verified ({@link SnapshotReader#verify(io.magnetar.engine.SnapshotSink)}); the handler stages what it reads and
 * changes nothing unless the whole file is sound, so a damaged file is still refused whole. Only when something
 * fails is the file read again from the start, to give the same reason a separate verification would (the damage
 * to the file, if any, before what the journal or the handler said of it).
 */
final class Recovery
{
    private static final System.Logger LOG = System.getLogger("io.magnetar.engine.snapshot");

    /**
     * What recovery did.
     *
     * @param snapshot        the snapshot loaded, or null when the whole journal was replayed.
     * @param replay          the replay of the journal entries after it (or of all of them).
     * @param startCount      the {@code startCount} of the last {@code NodeStarted} in the state.
     * @param lastIndex       journal index of the last entry in the state, or -1 for none.
     * @param lastTimestampMs time stamp of that entry, or {@link Long#MIN_VALUE}.
     * @param rejected        snapshots set aside, with the reason.
     */
    record Result(
        SnapshotInfo snapshot,
        ReplayResult replay,
        long startCount,
        long lastIndex,
        long lastTimestampMs,
        List<String> rejected)
    {
    }

    private Recovery()
    {
    }

    /**
     * @param journal       the journal (open, nothing appended yet by this process).
     * @param store         the snapshot directory, or null.
     * @param handler       receives the journal entries after the snapshot (or all of them).
     * @param snapshottable loads the snapshot (usually the handler itself), or null to ignore snapshots.
     * @return what was done; check {@code replay().isComplete()}.
     * @throws IllegalStateException if journal cycles were deleted and no snapshot is usable.
     * @throws UncheckedIOException  if the snapshot directory cannot be read.
     */
    static Result recover(
        final Journal journal, final SnapshotStore store, final CommandHandler handler, final Snapshottable snapshottable)
    {
        final List<String> rejected = new ArrayList<>();
        if (null != store && null != snapshottable)
        {
            try
            {
                final int temporaries = store.deleteTemporaries();
                if (temporaries > 0)
                {
                    LOG.log(System.Logger.Level.WARNING, "deleted " + temporaries +
                        " half-written snapshot file(s) in " + store.dir());
                }
                for (final Path file : store.snapshots())
                {
                    final Result result = tryRecover(journal, store, file, handler, snapshottable, rejected);
                    if (null != result)
                    {
                        return result;
                    }
                }
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("cannot read the snapshot directory " + store.dir(), ex);
            }
        }

        if (null != store && store.isJournalTruncated())
        {
            throw new IllegalStateException("cannot recover: journal cycles in " + journal.dir() + " were deleted " +
                "after snapshots, but no snapshot in " + store.dir() + " is usable " + rejected + "; replaying what " +
                "is left of the journal would give a wrong state, so the node does not start");
        }

        final ReplayCounter counter = new ReplayCounter(handler);
        final ReplayResult replay = journal.replay(counter);
        return new Result(null, replay, counter.lastStartCount, replay.lastGoodIndex(), counter.lastTimestampMs,
            rejected);
    }

    private static Result tryRecover(
        final Journal journal,
        final SnapshotStore store,
        final Path file,
        final CommandHandler handler,
        final Snapshottable snapshottable,
        final List<String> rejected) throws IOException
    {
        try (SnapshotReader reader = store.open(file))
        {
            final SnapshotInfo begin = reader.verifyBegin();
            if (!begin.isComplete())
            {
                reject(store, file, begin.status() + ": " + begin.detail(), rejected);
                return null;
            }

            final long index = begin.journalIndex();
            final JournalReader journalReader;
            try
            {
                journalReader = journal.newReader(index);
            }
            catch (final IllegalArgumentException ex)
            {
                reject(store, file, reason(reader, "the journal has no entry at its index 0x" + Long.toHexString(index)),
                    rejected);
                return null;
            }

            try
            {
                final EntryProbe probe = new EntryProbe();
                journalReader.poll(probe, 1);
                if (probe.index != index || probe.timestampMs != begin.timestampMs())
                {
                    reject(store, file, reason(reader, "the journal entry at 0x" + Long.toHexString(index) + " is " +
                        (probe.index < 0 ? "missing or damaged" : "another one (stamped " + probe.timestampMs +
                        ", the snapshot says " + begin.timestampMs() + ")")), rejected);
                    return null;
                }

                final SnapshotInfo[] verified = new SnapshotInfo[1];
                final UncheckedIOException[] readFailure = new UncheckedIOException[1];
                try
                {
                    snapshottable.loadSnapshot((sink) ->
                    {
                        try
                        {
                            verified[0] = reader.verify(sink);
                        }
                        catch (final IOException ex)
                        {
                            readFailure[0] = new UncheckedIOException("cannot read snapshot " + file, ex);
                            throw readFailure[0];
                        }
                    });
                }
                catch (final SnapshotLoadException ex)
                {
                    if (null != readFailure[0])
                    {
                        throw readFailure[0]; // the disk failed, not the snapshot: do not set it aside
                    }
                    // a file found damaged is refused for that; one the handler refused before its end is read whole
                    final SnapshotInfo found = null != verified[0] ? verified[0] : reader.verify();
                    reject(store, file, found.isComplete() ? "it does not load: " + ex.getMessage() :
                        found.status() + ": " + found.detail(), rejected);
                    return null;
                }
                final SnapshotInfo info = verified[0];
                if (!info.isComplete())
                {
                    // the handler loads nothing without a SnapshotEnd, which a damaged file does not hand on
                    throw new IllegalStateException("snapshot " + file + " was loaded but is " + info);
                }

                final ReplayCounter counter = new ReplayCounter(handler);
                counter.lastStartCount = info.startCount();
                counter.lastTimestampMs = info.timestampMs();
                final ReplayResult tail = journalReader.replay(counter);
                final ReplayResult replay = new ReplayResult(tail.entries() - 1, tail.lastGoodIndex(), tail.status(),
                    tail.badIndex(), tail.entriesAfterBad(), tail.detail());
                LOG.log(System.Logger.Level.INFO, () -> "recovered from snapshot " + file.getFileName() + " (" +
                    info.liveMessages() + " live messages, " + info.bytes() + " bytes) and " + replay.entries() +
                    " journal entries after it");
                return new Result(info, replay, counter.lastStartCount, replay.lastGoodIndex(), counter.lastTimestampMs,
                    rejected);
            }
            finally
            {
                journalReader.close();
            }
        }
    }

    /**
     * @return what is wrong with the file itself, if anything (read whole), else {@code otherwise}.
     */
    private static String reason(final SnapshotReader reader, final String otherwise) throws IOException
    {
        final SnapshotInfo info = reader.verify();
        return info.isComplete() ? otherwise : info.status() + ": " + info.detail();
    }

    private static void reject(final SnapshotStore store, final Path file, final String reason, final List<String> rejected)
    {
        String where;
        try
        {
            where = "set aside as " + store.reject(file).getFileName();
        }
        catch (final IOException ex)
        {
            where = "could not be set aside: " + ex;
        }
        final String line = "snapshot " + file.getFileName() + " ignored: " + reason + " (" + where + ")";
        LOG.log(System.Logger.Level.WARNING, line);
        rejected.add(line);
    }

    /**
     * Notes the first entry read.
     */
    private static final class EntryProbe implements JournalReader.Handler
    {
        long index = -1;
        long timestampMs;

        public void onEntry(
            final long sessionId,
            final long timestampMs,
            final DirectBuffer buffer,
            final int offset,
            final int length,
            final long index)
        {
            this.index = index;
            this.timestampMs = timestampMs;
        }
    }

    /**
     * Replays into the command handler and notes what the restart needs: the last NodeStarted count, the last stamp.
     */
    static final class ReplayCounter implements JournalReader.Handler
    {
        private final CommandHandler commandHandler;
        private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
        private final NodeStartedDecoder nodeStartedDecoder = new NodeStartedDecoder();
        long lastStartCount;
        long lastTimestampMs = Long.MIN_VALUE;

        ReplayCounter(final CommandHandler commandHandler)
        {
            this.commandHandler = commandHandler;
        }

        public void onEntry(
            final long sessionId,
            final long timestampMs,
            final DirectBuffer buffer,
            final int offset,
            final int length,
            final long index)
        {
            if (length >= MessageHeaderDecoder.ENCODED_LENGTH + NodeStartedDecoder.BLOCK_LENGTH)
            {
                headerDecoder.wrap(buffer, offset);
                if (headerDecoder.schemaId() == NodeStartedDecoder.SCHEMA_ID &&
                    headerDecoder.templateId() == NodeStartedDecoder.TEMPLATE_ID)
                {
                    lastStartCount = nodeStartedDecoder.wrap(buffer, offset + MessageHeaderDecoder.ENCODED_LENGTH,
                        headerDecoder.blockLength(), headerDecoder.version()).startCount();
                }
            }
            lastTimestampMs = Math.max(lastTimestampMs, timestampMs);

            commandHandler.onCommand(sessionId, timestampMs, buffer, offset, length);
        }
    }
}
