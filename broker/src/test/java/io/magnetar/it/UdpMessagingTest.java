package io.magnetar.it;

/**
 * {@link MessagingTestBase} over UDP loopback, from a media driver embedded in the client.
 */
class UdpMessagingTest extends MessagingTestBase
{
    Transport transport()
    {
        return Transport.UDP;
    }
}
