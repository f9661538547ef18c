/* Prints the router's table as "METHOD PATH" lines, one per path form a client may call, for
 * scripts/check-docs.sh to compare with docs/API.md: the truth comes from the code's own table. */
#include "http/routes.h"

#include <stdio.h>

int main(void)
{
    size_t n = 0;
    const struct route *table = routes_table(&n);
    for (size_t i = 0; i < n; i++) {
        const char *method = routes_method_name(table[i].method);
        printf("%s %s\n", method, table[i].pattern);
        const struct route_prefix *p = routes_prefixes();
        for (int k = 0; k < ROUTE_PREFIX_COUNT; k++)
            if (table[i].flags & p[k].flag)
                printf("%s %s%s\n", method, p[k].text, table[i].pattern);
    }
    return ferror(stdout) ? 1 : 0;
}
