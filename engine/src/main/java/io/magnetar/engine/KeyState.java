package io.magnetar.engine;

/**
 * key_shared: what one key (identified by its hash) has in flight. Exists only while it has something
 * outstanding or delayed. Pooled.
 */
final class KeyState
{
    int keyHash;
    /** the consumer holding this key's outstanding messages (null when none are outstanding). */
    Consumer holder;
    int outstanding;
    int delayed;
    KeyState nextFree;
}
