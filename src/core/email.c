/* The rule set for invite addresses (docs/EMAIL.md): what we accept, and the stored and key forms.
 */
#include "core/email.h"

#include <stdint.h>
#include <string.h>

#define EMAIL_LOCAL_MAX  64  /* RFC 5321 4.5.3.1.1 */
#define EMAIL_DOMAIN_MAX 253 /* RFC 1035 without the trailing dot */
#define EMAIL_LABEL_MAX  63  /* RFC 1035 */
#define EMAIL_LABELS_MIN 2   /* "localhost"-style single-label domains cannot get mail */

/* A half-open range of code points. */
struct cp_range {
    uint32_t lo, hi;
};

/* Non-ASCII code points that are controls, spaces or invisible format characters. They render
 * as nothing (or as a gap) and would let two addresses look identical, so neither part of an
 * address may hold them. Not a full Unicode table: the classes that matter for spoofing. */
static const struct cp_range invisible[] = {
    {0x0080, 0x00A0},   /* C1 controls and NO-BREAK SPACE */
    {0x00AD, 0x00AD},   /* SOFT HYPHEN */
    {0x034F, 0x034F},   /* COMBINING GRAPHEME JOINER */
    {0x061C, 0x061C},   /* ARABIC LETTER MARK */
    {0x1680, 0x1680},   /* OGHAM SPACE MARK */
    {0x180E, 0x180E},   /* MONGOLIAN VOWEL SEPARATOR */
    {0x2000, 0x200F},   /* typographic spaces, zero-width characters, LRM/RLM */
    {0x2028, 0x202F},   /* line/paragraph separators, bidi embeddings and overrides */
    {0x205F, 0x206F},   /* math space, word joiner, bidi isolates, deprecated formats */
    {0x3000, 0x3000},   /* IDEOGRAPHIC SPACE */
    {0xFE00, 0xFE0F},   /* variation selectors */
    {0xFEFF, 0xFEFF},   /* byte order mark */
    {0xFFF9, 0xFFFB},   /* interlinear annotation */
    {0xFFFE, 0xFFFF},   /* noncharacters */
    {0xE0000, 0xE0FFF}, /* tags and variation selectors supplement */
};

/* Non-ASCII punctuation and symbols refused inside domain labels: the dots IDNA2003 maps to
 * '.', and the punctuation blocks IDNA2008 disallows. */
static const struct cp_range domain_punct[] = {
    {0x00A1, 0x00BF}, /* Latin-1 punctuation and symbols */
    {0x00D7, 0x00D7}, /* MULTIPLICATION SIGN */
    {0x00F7, 0x00F7}, /* DIVISION SIGN */
    {0x2010, 0x2027}, /* general punctuation (dashes, quotes, bullets, ellipsis) */
    {0x2030, 0x205E}, /* more general punctuation */
    {0x3001, 0x3003}, /* IDEOGRAPHIC COMMA, FULL STOP (a dot in IDNA2003), DITTO */
    {0x3008, 0x3011}, /* CJK brackets */
    {0xFE50, 0xFE6B}, /* small form variants (incl. SMALL FULL STOP) */
    {0xFF01, 0xFF0F}, /* fullwidth punctuation (incl. FULLWIDTH FULL STOP) */
    {0xFF1A, 0xFF20}, /* fullwidth : ; < = > ? @ */
    {0xFF3B, 0xFF40}, /* fullwidth [ \ ] ^ _ ` */
    {0xFF5B, 0xFF65}, /* fullwidth { | } ~ and halfwidth CJK punctuation (incl. U+FF61) */
};

static bool in_ranges(uint32_t cp, const struct cp_range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cp >= r[i].lo && cp <= r[i].hi)
            return true;
    return false;
}

/* Decodes one UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF) at
 * s[0..n); returns its length, or 0 when it is not valid UTF-8. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, *cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, *cp = c & 0x0F;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, *cp = c & 0x07;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (len > n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    return len;
}

/* Whole-address byte scan: controls first (the class that can inject headers), then UTF-8. */
static enum email_verdict scan_bytes(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] == 0x7F)
            return EMAIL_CONTROL_CHAR;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            return EMAIL_BAD_UTF8;
        if (cp >= 0x80 && in_ranges(cp, invisible, sizeof invisible / sizeof invisible[0]))
            return EMAIL_CONTROL_CHAR;
        i += n;
    }
    return EMAIL_OK;
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 5322 atext. */
static bool is_atext(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* Local part: a dot-atom of atext and UTF-8 (RFC 6531 extends atext with UTF8-non-ascii). A
 * quoted string ("john doe"@x) is refused: see docs/EMAIL.md. */
static enum email_verdict check_local(const unsigned char *s, size_t len)
{
    if (len > EMAIL_LOCAL_MAX)
        return EMAIL_TOO_LONG;
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return EMAIL_BAD_LOCAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] >= 0x80) /* already proved valid UTF-8 without invisible code points */
            continue;
        if (s[i] == '.' ? s[i + 1] == '.' : !is_atext(s[i]))
            return EMAIL_BAD_LOCAL;
    }
    return EMAIL_OK;
}

static bool ascii_ieq(const unsigned char *s, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)lit[i])
            return false;
    }
    return true;
}

/* One domain label: LDH, or an IDN U-label of letters/digits in any script plus hyphens. */
static bool label_ok(const unsigned char *s, size_t len)
{
    if (len == 0 || len > EMAIL_LABEL_MAX || s[0] == '-' || s[len - 1] == '-')
        return false;
    /* RFC 5891 4.2.3.1: "??--" is reserved for A-labels ("xn--"), which need a payload. */
    if (len >= 4 && s[2] == '-' && s[3] == '-' && (!ascii_ieq(s, "xn", 2) || len == 4))
        return false;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp); /* valid: scan_bytes ran first */
        if (cp < 0x80 ? !(is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-')
                      : in_ranges(cp, domain_punct, sizeof domain_punct / sizeof domain_punct[0]))
            return false;
        i += n;
    }
    return true;
}

static enum email_verdict check_domain(const unsigned char *s, size_t len)
{
    /* IP literals ([192.0.2.1]) and a trailing dot are legal in SMTP but never a person's
     * address, and the dot would make "a@x.com." a second spelling of "a@x.com". */
    if (len == 0 || len > EMAIL_DOMAIN_MAX || s[0] == '[' || s[len - 1] == '.')
        return EMAIL_BAD_DOMAIN;
    size_t labels = 0, start = 0;
    bool numeric = true; /* is the current label all digits */
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            numeric = numeric && is_digit(s[i]);
            continue;
        }
        if (!label_ok(s + start, i - start))
            return EMAIL_BAD_DOMAIN;
        labels++;
        start = i + 1;
        if (i < len)
            numeric = true;
    }
    /* An all-numeric TLD would make 192.0.2.1 look like a host name (RFC 3696 2). */
    if (labels < EMAIL_LABELS_MIN || numeric)
        return EMAIL_BAD_DOMAIN;
    return EMAIL_OK;
}

static void ascii_lower(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
}

enum email_verdict email_check(const char *addr, size_t len, char *out_email, char *out_key)
{
    const unsigned char *s = (const unsigned char *)addr;
    if (out_email)
        out_email[0] = '\0';
    if (out_key)
        out_key[0] = '\0';
    if (!addr || len == 0)
        return EMAIL_EMPTY;
    enum email_verdict v = scan_bytes(s, len);
    if (v)
        return v;
    if (len > SI_EMAIL_MAX)
        return EMAIL_TOO_LONG;
    /* The last '@' splits: a domain never holds one, and an '@' left in the local part (only
     * legal inside quotes, which we refuse) then fails the atext check. */
    const unsigned char *at = memrchr(s, '@', len);
    if (!at)
        return EMAIL_NO_AT;
    size_t local_len = (size_t)(at - s), domain_len = len - local_len - 1;
    v = check_local(s, local_len);
    if (v)
        return v;
    v = check_domain(at + 1, domain_len);
    if (v)
        return v;
    if (out_email) {
        memcpy(out_email, addr, local_len + 1);
        ascii_lower(out_email + local_len + 1, addr + local_len + 1, domain_len);
        out_email[len] = '\0';
    }
    if (out_key) {
        ascii_lower(out_key, addr, len);
        out_key[len] = '\0';
    }
    return EMAIL_OK;
}

const char *email_verdict_str(enum email_verdict v)
{
    switch (v) {
    case EMAIL_OK:
        return "valid address";
    case EMAIL_EMPTY:
        return "the address is empty";
    case EMAIL_TOO_LONG:
        return "the address is over 254 octets or its local part over 64";
    case EMAIL_NO_AT:
        return "the address has no '@'";
    case EMAIL_BAD_LOCAL:
        return "the part before '@' is not a valid unquoted local part";
    case EMAIL_BAD_DOMAIN:
        return "the part after '@' is not a valid domain name";
    case EMAIL_CONTROL_CHAR:
        return "the address contains a space or a control character";
    case EMAIL_BAD_UTF8:
        return "the address is not valid UTF-8";
    }
    return "invalid address";
}
