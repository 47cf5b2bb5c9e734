package io.magnetar.engine.pipeline;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CommandSlotTest
{
    @Test
    void aSlotHoldsItsRecordOffHeapAndGrowsUpToTheRetainedCapacity()
    {
        final CommandSlot slot = new CommandSlot(256);
        final var initial = slot.buffer;
        assertNull(initial.byteArray(), "off-heap: the journal appends it with one memcpy");
        assertNotNull(initial.byteBuffer());
        assertTrue(initial.byteBuffer().isDirect());

        assertSame(initial, slot.prepare(256), "a record that fits keeps the buffer (no allocation)");
        assertSame(initial, slot.prepare(100));

        final var grown = slot.prepare(1000);
        assertNotSame(initial, grown);
        assertNull(grown.byteArray());
        assertTrue(grown.capacity() >= 1000);
        assertSame(grown, slot.prepare(grown.capacity()), "grown once, kept");
        slot.releaseLargeBuffer();
        assertSame(grown, slot.buffer, "a direct buffer within the retained capacity is kept");

        final var full = slot.prepare(CommandSlot.MAX_RETAINED_CAPACITY);
        assertEquals(CommandSlot.MAX_RETAINED_CAPACITY, full.capacity(), "growth stops at the retained capacity");
        assertNull(full.byteArray());
    }

    @Test
    void aSlotDoesNotKeepTheBufferOfALargeCommand()
    {
        final CommandSlot slot = new CommandSlot(256);
        final var direct = slot.buffer;

        final var large = slot.prepare(CommandSlot.MAX_RETAINED_CAPACITY * 4);
        assertNotNull(large.byteArray(), "a record above the retained capacity is held on the heap");
        assertEquals(CommandSlot.MAX_RETAINED_CAPACITY * 4, large.capacity());
        assertEquals(256, slot.directCapacity(), "the direct buffer does not grow for it");

        slot.releaseLargeBuffer();
        assertSame(direct, slot.buffer, "a large command's buffer is dropped once it is applied");
        assertSame(direct, slot.prepare(64));
    }

    @Test
    void aSlotCapacityAboveTheRetainedCapacityIsKept()
    {
        final CommandSlot slot = new CommandSlot(CommandSlot.MAX_RETAINED_CAPACITY * 2);
        assertEquals(CommandSlot.MAX_RETAINED_CAPACITY * 2, slot.maxDirectCapacity());
        assertNull(slot.prepare(CommandSlot.MAX_RETAINED_CAPACITY * 2).byteArray());
    }
}
