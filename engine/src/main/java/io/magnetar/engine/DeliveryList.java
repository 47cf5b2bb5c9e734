package io.magnetar.engine;

/**
 * Intrusive doubly linked list of deliveries through their state links. O(1) append and removal,
 * insertion in publish order for redeliveries.
 */
final class DeliveryList
{
    Delivery head;
    Delivery tail;
    int size;

    void append(final Delivery d)
    {
        d.setInList(true);
        d.next = null;
        d.prev = tail;
        if (tail == null)
        {
            head = d;
        }
        else
        {
            tail.next = d;
        }
        tail = d;
        size++;
    }

    /**
     * Insert keeping the list ordered by message sequence (publish order). Redeliveries are usually
     * older than everything pending, so the walk from the head is short.
     */
    void insertBySequence(final Delivery d)
    {
        final long sequence = d.message().sequence;
        if (tail == null || tail.message().sequence <= sequence)
        {
            append(d);
            return;
        }
        Delivery after = null;
        Delivery cursor = head;
        while (cursor != null && cursor.message().sequence <= sequence)
        {
            after = cursor;
            cursor = cursor.next;
        }

        d.setInList(true);
        d.prev = after;
        d.next = cursor;
        if (after == null)
        {
            head = d;
        }
        else
        {
            after.next = d;
        }
        if (cursor == null)
        {
            tail = d;
        }
        else
        {
            cursor.prev = d;
        }
        size++;
    }

    void remove(final Delivery d)
    {
        if (d.prev == null)
        {
            head = d.next;
        }
        else
        {
            d.prev.next = d.next;
        }
        if (d.next == null)
        {
            tail = d.prev;
        }
        else
        {
            d.next.prev = d.prev;
        }
        d.prev = null;
        d.next = null;
        d.setInList(false);
        size--;
    }
}
