package io.magnetar.client;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MessageIdTest
{
    @Test
    void writesPartitionLedgerEntry()
    {
        assertEquals("3:1:1042", new MessageId(3, 1, 1042).toString());
        assertEquals("0:0:0", new MessageId(0, 0, 0).toString());
    }

    @Test
    void parsesWhatItWrites()
    {
        final MessageId[] ids = {
            new MessageId(0, 0, 0),
            new MessageId(3, 1, 1042),
            new MessageId(4095, 17, 9_000_000_000L),
            new MessageId(Integer.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE),
        };
        for (final MessageId id : ids)
        {
            assertEquals(id, MessageId.parse(id.toString()));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", "1", "1:2", "1:2:3:4", ":1:2", "1::2", "1:2:", "a:1:2", "1:-2:3", "-1:2:3", "1:2:3 ", " 1:2:3",
        "1:2:1e3", "2147483648:1:1", "1:9223372036854775808:1", "1:1:99999999999999999999" })
    void rejectsWhatIsNotAnId(final String text)
    {
        assertThrows(IllegalArgumentException.class, () -> MessageId.parse(text));
    }

    @Test
    void rejectsNullAndNegativeComponents()
    {
        assertThrows(IllegalArgumentException.class, () -> MessageId.parse(null));
        assertThrows(IllegalArgumentException.class, () -> new MessageId(-1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new MessageId(0, -1, 0));
        assertThrows(IllegalArgumentException.class, () -> new MessageId(0, 0, -1));
    }

    @Test
    void ordersByPartitionThenLedgerThenEntry()
    {
        final List<MessageId> ids = new ArrayList<>(List.of(
            new MessageId(1, 2, 0), new MessageId(0, 9, 9), new MessageId(1, 1, 5), new MessageId(1, 1, 4)));
        Collections.sort(ids);
        assertEquals(List.of(
            new MessageId(0, 9, 9), new MessageId(1, 1, 4), new MessageId(1, 1, 5), new MessageId(1, 2, 0)), ids);
    }
}
