package io.magnetar.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A delivery packs its state, its "in a list" flag and its count into one int ({@link Delivery}): each can be set
 * without disturbing the others, and the count saturates instead of wrapping into the flag bits.
 */
class DeliveryBitsTest
{
    @Test
    void stateFlagAndCountAreIndependent()
    {
        final ExtraDelivery d = new ExtraDelivery();
        final byte[] states = {Delivery.PENDING, Delivery.DELAYED, Delivery.OUTSTANDING, Delivery.UNUSED};
        final int[] counts = {0, 1, 2, 255, 65_536, Delivery.MAX_DELIVERY_COUNT};
        for (final byte state : states)
        {
            for (final int count : counts)
            {
                for (final boolean inList : new boolean[]{false, true})
                {
                    d.setDeliveryCount(count);
                    d.setInList(inList);
                    d.setState(state);
                    assertEquals(state, d.state());
                    assertEquals(count, d.deliveryCount());
                    assertEquals(inList, d.inList());

                    d.setDeliveryCount(count == 0 ? 7 : count - 1);
                    assertEquals(state, d.state(), "a count leaves the state");
                    assertEquals(inList, d.inList(), "a count leaves the flag");
                    d.setState(state == Delivery.PENDING ? Delivery.OUTSTANDING : Delivery.PENDING);
                    assertEquals(count == 0 ? 7 : count - 1, d.deliveryCount(), "a state leaves the count");
                    assertEquals(inList, d.inList(), "a state leaves the flag");
                }
            }
        }
    }

    @Test
    void theCountSaturatesAtItsMaximum()
    {
        final ExtraDelivery d = new ExtraDelivery();
        d.setState(Delivery.OUTSTANDING);
        d.setInList(true);
        d.setDeliveryCount(Delivery.MAX_DELIVERY_COUNT);
        d.setDeliveryCount(d.deliveryCount() + 1);
        assertEquals(Delivery.MAX_DELIVERY_COUNT, d.deliveryCount());
        d.setDeliveryCount(Integer.MAX_VALUE);
        assertEquals(Delivery.MAX_DELIVERY_COUNT, d.deliveryCount());
        assertEquals(Delivery.OUTSTANDING, d.state());
        assertTrue(d.inList());
    }

    @Test
    void aMessageStartsWithItsOwnDeliveryUnused()
    {
        final Message m = new Message();
        assertEquals(Delivery.UNUSED, m.state());
        assertFalse(m.hasDeliveries());
        assertEquals(0, m.deliveryCount());
        assertEquals(null, m.firstDelivery());
    }
}
