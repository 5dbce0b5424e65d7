#include "request/target.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

static int
days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

int
target_parse_time(const char *text, Target *t, Error *err)
{
    int y, mo, d, h, mi, s, n = 0;
    if (!isdigit((unsigned char) text[0]) ||
        sscanf(text, "%4d-%2d-%2d%*[ T]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 || n == 0)
        return error_set(err, "--time '%s' is not a time (expected 'YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]')", text);
    const char *p = text + n;
    double frac = 0;
    if (*p == '.')
    {
        /* Digits only: strtod would also take "e99", "inf" or a sign. */
        size_t digits = strspn(p + 1, "0123456789");
        if (digits == 0 || digits > 9)
            return error_set(err, "--time '%s': bad fraction of a second (1 to 9 digits)", text);
        frac = strtod(p, NULL);
        p += 1 + digits;
    }
    while (*p == ' ')
        p++;
    bool has_zone = false;
    long offset = 0;
    if (*p == 'Z' || !strcmp(p, "UTC"))
    {
        has_zone = true;
        p += (*p == 'Z') ? 1 : 3;
    }
    else if (*p == '+' || *p == '-')
    {
        int sign = *p == '-' ? -1 : 1, oh = 0, om = 0, k = 0;
        if (sscanf(p + 1, "%2d%n", &oh, &k) != 1)
            return error_set(err, "--time '%s': bad time zone offset", text);
        p += 1 + k;
        if (*p == ':')
        {
            if (sscanf(p + 1, "%2d%n", &om, &k) != 1)
                return error_set(err, "--time '%s': bad time zone offset", text);
            p += 1 + k;
        }
        if (oh > 15 || om > 59)
            return error_set(err, "--time '%s': time zone offset out of range", text);
        has_zone = true;
        offset = sign * (oh * 3600L + om * 60L);
    }
    if (*p != '\0')
        return error_set(err, "--time '%s': unexpected '%s' after the time", text, p);
    if (mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || y < 1970)
        return error_set(err, "--time '%s': a field is out of range", text);
    /* mktime/timegm would carry 2026-02-30 over into March: refuse it. */
    if (d > days_in_month(y, mo))
        return error_set(err, "--time '%s': %04d-%02d has %d days, not %d", text, y, mo, days_in_month(y, mo), d);

    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s,
                    .tm_isdst = -1};
    time_t epoch;
    if (has_zone)
        epoch = timegm(&tm) - offset;
    else
        epoch = mktime(&tm);
    if (epoch == (time_t) -1)
        return error_set(err, "--time '%s' cannot be represented", text);
    t->kind = TARGET_TIME;
    t->time = (double) epoch + frac;
    /* Pass PostgreSQL an explicit UTC time: the server's own time zone
     * setting must not shift the target strata chose a backup for. */
    struct tm utc;
    gmtime_r(&epoch, &utc);
    char buf[64];
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &utc);
    t->text = xprintf("%s.%06ld+00", buf, (long) (frac * 1e6 + 0.5) % 1000000);
    return 0;
}

int
target_parse_xid(const char *text, Target *t, Error *err)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char) text[0]))
        return error_set(err, "--xid '%s' is not a transaction id (a whole number of 3 or more)", text);
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end != '\0' || v < 3)
        return error_set(err, "--xid '%s' is not a transaction id (a whole number of 3 or more)", text);
    t->kind = TARGET_XID;
    t->xid = v;
    t->text = xstrdup(text);
    return 0;
}

int
target_parse_lsn(const char *text, Target *t, Error *err)
{
    if (lsn_parse(text, &t->lsn, err) != 0)
        return error_prefix(err, "--lsn: ");
    t->kind = TARGET_LSN;
    char buf[32];
    lsn_format(t->lsn, buf);
    t->text = xstrdup(buf);
    return 0;
}

int
target_parse_name(const char *text, Target *t, Error *err)
{
    if (!*text || strlen(text) >= 64)
        return error_set(err, "--name '%s': a restore point name has 1 to 63 characters", text);
    t->kind = TARGET_NAME;
    t->text = xstrdup(text);
    return 0;
}

const char *
target_kind_name(TargetKind k)
{
    static const char *const names[] = {"latest", "time", "xid", "lsn", "name", "immediate"};
    return names[k];
}

void
target_free(Target *t)
{
    free(t->text);
    t->text = NULL;
}
