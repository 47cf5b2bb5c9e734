package io.magnetar.rest;

import io.magnetar.client.SubscriptionType;

/**
 * Names shared by the routes, the OpenAPI document and the metrics.
 */
final class Rest
{
    static final String SHARED = "shared";
    static final String KEY_SHARED = "key_shared";
    static final String MULTICAST = "multicast";

    private Rest()
    {
    }

    /**
     * @return the SPEC's name of a subscription type: {@code shared}, {@code key_shared} or {@code multicast}.
     */
    static String typeName(final SubscriptionType type)
    {
        if (null == type)
        {
            return "unknown";
        }
        switch (type)
        {
            case SHARED: return SHARED;
            case KEY_SHARED: return KEY_SHARED;
            case MULTICAST: return MULTICAST;
            default: return type.name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * @param field for the error message.
     * @return the type of a SPEC name (exactly, lower case).
     * @throws ApiException 400 for anything else.
     */
    static SubscriptionType parseType(final String field, final String name)
    {
        switch (name)
        {
            case SHARED: return SubscriptionType.SHARED;
            case KEY_SHARED: return SubscriptionType.KEY_SHARED;
            case MULTICAST: return SubscriptionType.MULTICAST;
            default:
                throw ApiException.invalid(field + ": '" + Json.clip(name, 40) +
                    "' is not a subscription type (expected shared, key_shared or multicast)");
        }
    }
}
