package io.magnetar.it;

/**
 * {@link MessagingTestBase} over IPC, through the node's media driver.
 */
class IpcMessagingTest extends MessagingTestBase
{
    Transport transport()
    {
        return Transport.IPC;
    }
}
