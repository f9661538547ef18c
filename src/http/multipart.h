/* multipart/form-data (RFC 7578), the encoding of an HTML form with a file input, read into the
 * application/x-www-form-urlencoded body of the same fields: the console's forms are read one
 * way whatever the browser sent. Pure and thread-safe; fuzzed by tests/fuzz/fuzz_multipart.c. */
#ifndef SI_HTTP_MULTIPART_H
#define SI_HTTP_MULTIPART_H

#include "common/buf.h"
#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX 70  /* RFC 2046 */
#define MULTIPART_PARTS_MAX    256 /* fields of one form */

/* Appends to out the urlencoded form of body[0..len), a multipart/form-data body whose
 * boundary is content_type's boundary parameter: name=value pairs joined by '&', in the parts'
 * order, each name and value percent-encoded (a file's bytes are its field's value; its file
 * name and type are dropped). SI_EINVAL for a missing or bad boundary, a part without a
 * form-data name, or a body that does not end with the closing delimiter; SI_ETOOBIG past
 * MULTIPART_PARTS_MAX parts or out's limit. out's content is unspecified after an error. */
enum si_err multipart_to_form(const char *content_type, const char *body, size_t len,
                              struct buf *out) SI_MUST_USE;

#endif
