/* The expiry date of an invite as its email's language writes it ("26 December 2026",
 * "26 de diciembre de 2026", "2026年12月26日", ...). */
#ifndef SI_MAIL_EXPIRY_H
#define SI_MAIL_EXPIRY_H

#include "common/clock.h"

#include <stddef.h>

#define EXPIRY_TEXT_MAX 64 /* bytes of a formatted date, NUL included (UTF-8 month names) */

/* Writes the UTC calendar date of t into out[EXPIRY_TEXT_MAX] in the way of lang, a template
 * folder name ("pt", "pt-BR": the primary subtag decides); an unknown language gets English.
 * Pure and thread-safe. */
void expiry_format(si_ms t, const char *lang, char out[EXPIRY_TEXT_MAX]);

#endif
