/* The predefined roles. Their IDs are part of the contract: never change or reuse one. */
#include "roles.h"

#include <string.h>

/* 19-digit numerals, the shape of Wix policy IDs; fixed forever across installs. */
static const struct role predefined[] = {
    {"1000000000000000001", "Admin (Co-Owner)",
     "Full access to the site, its settings and its contributors.", true},
    {"1000000000000000002", "Website Manager",
     "Manages the site's content, apps and settings, but not billing or ownership.", true},
    {"1000000000000000003", "Website Designer", "Edits and publishes the site's design.", true},
    {"1000000000000000004", "Back Office Manager",
     "Manages the dashboard: apps, contacts and business tools, but not the design.", true},
    {"1000000000000000005", "Blog Editor", "Writes, edits and publishes every blog post.", true},
    {"1000000000000000006", "Blog Writer", "Writes blog posts and submits them for review.", true},
    {"1000000000000000007", "Store Manager", "Manages products, orders and the store's settings.",
     true},
    {"1000000000000000008", "Marketing Manager",
     "Runs campaigns, SEO and marketing tools for the site.", true},
};

const struct role *roles_predefined(size_t *n)
{
    *n = sizeof predefined / sizeof predefined[0];
    return predefined;
}

const struct role *roles_find_predefined(const char *id)
{
    for (size_t i = 0; i < sizeof predefined / sizeof predefined[0]; i++)
        if (strcmp(predefined[i].id, id) == 0)
            return &predefined[i];
    return NULL;
}
