package io.magnetar.engine.pipeline;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class CommandSlotTest
{
    @Test
    void aSlotDoesNotKeepTheBufferOfALargeCommand()
    {
        final CommandSlot slot = new CommandSlot(256);
        final var small = slot.buffer;
        slot.buffer.putBytes(0, new byte[1000]);
        slot.releaseLargeBuffer();
        assertSame(small, slot.buffer, "a buffer within the retained capacity is kept (no allocation)");

        slot.buffer.putBytes(0, new byte[CommandSlot.MAX_RETAINED_CAPACITY * 4]);
        slot.releaseLargeBuffer();
        assertEquals(256, slot.buffer.capacity(), "a large command's buffer is dropped once it is applied");
    }
}
