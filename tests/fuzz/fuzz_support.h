/* Helpers the fuzz targets share: NUL-terminated copies of the input, a byte reader that splits
 * one input into several values, and the check that ends a run when an invariant breaks. */
#ifndef SI_FUZZ_SUPPORT_H
#define SI_FUZZ_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points (declared here so -Wmissing-prototypes holds). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input as a heap string (an embedded NUL ends it early for str* users); caller frees. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Reads one input as a sequence of values: a byte, or a string ending at a separator byte
 * (FUZZ_SEP) or the end of the input. */
#define FUZZ_SEP '\x1f' /* ASCII unit separator: rare in real text, easy to type in a seed */
struct fuzz_reader {
    const uint8_t *p;
    size_t left;
};

/* The next byte, or 0 at the end. */
uint8_t fuzz_byte(struct fuzz_reader *r);
/* The next string up to FUZZ_SEP (consumed) or the end, as a heap copy the caller frees
 * ("" at the end). *len (may be NULL) gets its length, which counts embedded NULs. */
char *fuzz_string(struct fuzz_reader *r, size_t *len);

/* Aborts with a message on stderr when ok is false: libFuzzer then keeps the input as a crash.
 * The "what" says which invariant broke. */
void fuzz_check(bool ok, const char *what);

/* The source tree (SI_SOURCE_DIR from the environment, else the configured one). */
const char *fuzz_source_dir(void);

#endif
