#include "archive/timeline.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A decimal timeline id, 1 .. 2^32-1, no sign, no overflow. */
static bool
parse_tli(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
    {
        if (!isdigit((unsigned char) s[i]))
            return false;
        v = v * 10 + (uint64_t) (s[i] - '0');
    }
    if (v == 0 || v > UINT32_MAX)
        return false;
    *out = (uint32_t) v;
    return true;
}

/* "H/L": two groups of 1-8 hex digits. */
static bool
parse_lsn_token(const char *s, size_t n, Lsn *out)
{
    const char *slash = memchr(s, '/', n);
    if (!slash)
        return false;
    size_t a = (size_t) (slash - s), b = n - a - 1;
    if (a == 0 || a > 8 || b == 0 || b > 8)
        return false;
    uint64_t hi = 0, lo = 0;
    for (size_t i = 0; i < n; i++)
    {
        if (i == a)
            continue;
        char c = s[i];
        if (!isxdigit((unsigned char) c))
            return false;
        unsigned d = isdigit((unsigned char) c) ? (unsigned) (c - '0') : (unsigned) (tolower((unsigned char) c) - 'a' + 10);
        if (i < a)
            hi = hi * 16 + d;
        else
            lo = lo * 16 + d;
    }
    *out = (hi << 32) | lo;
    return true;
}

static size_t
token_len(const char *s, const char *end)
{
    size_t n = 0;
    while (s + n < end && !isspace((unsigned char) s[n]))
        n++;
    return n;
}

static const char *
skip_blanks(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

int
timeline_history_parse(uint32_t tli, const char *text, size_t len, TimelineHistory *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    out->tli = tli;
    if (len > TIMELINE_HISTORY_MAX_BYTES)
        return error_set(err, "history file of timeline %u is %zu bytes, more than %d", tli, len,
                         TIMELINE_HISTORY_MAX_BYTES);
    if (memchr(text, '\0', len))
        return error_set(err, "history file of timeline %u holds a NUL byte", tli);
    const char *p = text, *end = text + len;
    int line = 0;
    while (p < end)
    {
        const char *eol = memchr(p, '\n', (size_t) (end - p));
        if (!eol)
            eol = end;
        line++;
        const char *s = skip_blanks(p, eol);
        p = eol + (eol < end);
        if (s == eol || *s == '#' || (*s == '\r' && s + 1 == eol))
            continue;
        size_t n = token_len(s, eol);
        uint32_t parent;
        if (!parse_tli(s, n, &parent))
            goto bad;
        s = skip_blanks(s + n, eol);
        n = token_len(s, eol);
        Lsn lsn;
        if (!parse_lsn_token(s, n, &lsn))
            goto bad;
        if (parent >= tli || (out->count && parent <= out->items[out->count - 1].tli))
        {
            timeline_history_free(out);
            return error_set(err, "history file of timeline %u, line %d: timeline %u is out of order (ancestors "
                                  "must be increasing and below %u)", tli, line, parent, tli);
        }
        if (out->count && lsn < out->items[out->count - 1].end)
        {
            timeline_history_free(out);
            return error_set(err, "history file of timeline %u, line %d: switch point goes backwards", tli, line);
        }
        out->items = xrealloc(out->items, (out->count + 1) * sizeof(TimelineSwitch));
        out->items[out->count++] = (TimelineSwitch){.tli = parent, .end = lsn};
    }
    if (tli > 1 && out->count == 0)
        return error_set(err, "history file of timeline %u names no parent timeline", tli);
    return 0;
bad:
    timeline_history_free(out);
    return error_set(err, "history file of timeline %u, line %d: expected '<parent timeline> <switch LSN> <reason>'",
                     tli, line);
}

void
timeline_history_free(TimelineHistory *h)
{
    free(h->items);
    free(h->problem);
    h->items = NULL;
    h->problem = NULL;
    h->count = 0;
}

/* A sink that keeps what it is given, up to a bound. */
typedef struct BoundedSink
{
    Stage base;
    Buffer buf;
    size_t cap;
    const char *what;
} BoundedSink;

static int
bounded_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    BoundedSink *b = (BoundedSink *) s;
    if (b->buf.len + len > b->cap)
        return error_set(err, "%s is larger than %zu bytes", b->what, b->cap);
    buffer_append(&b->buf, data, len);
    return 0;
}

static int
bounded_finish(Stage *s, Error *err)
{
    return 0;
}

static void
bounded_destroy(Stage *s)
{
    buffer_free(&((BoundedSink *) s)->buf);
    free(s);
}

static const StageOps bounded_ops = {"bounded buffer", bounded_write, bounded_finish, bounded_destroy};

static void
load_one(Pool *p, const WalObject *o, TimelineHistory *h)
{
    BoundedSink *sink = xcalloc(1, sizeof(*sink));
    sink->base.ops = &bounded_ops;
    sink->cap = TIMELINE_HISTORY_MAX_BYTES;
    sink->what = o->key;
    Error err;
    if (archive_fetch(p, o, &sink->base, &err) != 0 ||
        timeline_history_parse(o->tli, sink->buf.data ? sink->buf.data : "", sink->buf.len, h, &err) != 0)
    {
        memset(h, 0, sizeof(*h));
        h->tli = o->tli;
        h->problem = xstrdup(err.msg);
    }
    stage_free(&sink->base);
}

void
timeline_histories_load(Pool *p, const WalList *wl, TimelineHistory **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    for (size_t i = 0; i < wl->count; i++)
    {
        if (wl->items[i].kind != WAL_HISTORY)
            continue;
        *out = xrealloc(*out, (*count + 1) * sizeof(TimelineHistory));
        load_one(p, &wl->items[i], &(*out)[(*count)++]);
    }
}

void
timeline_histories_free(TimelineHistory *h, size_t count)
{
    for (size_t i = 0; i < count; i++)
        timeline_history_free(&h[i]);
    free(h);
}
