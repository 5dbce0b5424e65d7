/* wal-get's read-ahead spool (archive/wal_prefetch.h): where it lives,
 * when a restore_command gets it, and that taking a segment from it is a
 * rename of exactly that name (never another name, never a non-segment). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/wal_prefetch.h"
#include "unit.h"

static void
put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f)
    {
        fputs(text, f);
        fclose(f);
    }
}

static char *
slurp(const char *path)
{
    static char buf[64];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

int
main(void)
{
    char *d = wal_prefetch_dir("pg_wal/RECOVERYXLOG");
    CHECK(strcmp(d, "pg_wal/strata-prefetch") == 0, "the spool is beside the destination, in pg_wal");
    free(d);
    d = wal_prefetch_dir("RECOVERYXLOG");
    CHECK(strcmp(d, "strata-prefetch") == 0, "a destination without a directory: the spool in the working directory");
    free(d);

    CHECK(wal_prefetch_depth_for("s3://bucket/prefix") == WAL_PREFETCH_REMOTE, "an S3 pool gets read-ahead");
    CHECK(wal_prefetch_depth_for("/backup/pool") == 0, "a directory pool does not");
    CHECK(wal_prefetch_depth_for("file:///backup/pool") == 0, "nor a file:// pool");

    char tmpl[] = "/tmp/strata-unit-prefetch-XXXXXX";
    CHECK(mkdtemp(tmpl) != NULL, "scratch directory");
    char *pgwal = xprintf("%s/pg_wal", tmpl), *spool = xprintf("%s/strata-prefetch", pgwal);
    char *dest = xprintf("%s/RECOVERYXLOG", pgwal);
    mkdir(pgwal, 0700);
    mkdir(spool, 0700);
    char *seg = xprintf("%s/000000010000000000000005", spool), *other = xprintf("%s/00000002.history", spool);
    put(seg, "segment 5");
    put(other, "history");

    bool taken = true;
    Error err;
    CHECK(wal_prefetch_take(dest, "000000010000000000000006", &taken, &err) == 0 && !taken,
          "a segment not in the spool is not taken");
    CHECK(wal_prefetch_take(dest, "00000002.history", &taken, &err) == 0 && !taken,
          "a history file is never served from the spool, even when a file of that name is there");
    CHECK(wal_prefetch_take(dest, "000000020000000000000005", &taken, &err) == 0 && !taken,
          "the same segment number on another timeline is not taken");
    CHECK(wal_prefetch_take(dest, "000000010000000000000005", &taken, &err) == 0 && taken,
          "the spooled segment is taken");
    const char *got = slurp(dest);
    CHECK(got && strcmp(got, "segment 5") == 0, "... moved to the destination whole");
    CHECK(access(seg, F_OK) != 0, "... and gone from the spool");

    wal_prefetch_drop(dest);
    CHECK(access(spool, F_OK) != 0, "drop removes the spool and what is in it");
    CHECK(access(dest, F_OK) == 0, "... and nothing else");
    wal_prefetch_drop(dest);
    CHECK(access(pgwal, F_OK) == 0, "dropping a spool that is not there is harmless");

    unlink(dest);
    rmdir(pgwal);
    rmdir(tmpl);
    free(pgwal);
    free(spool);
    free(dest);
    free(seg);
    free(other);
    UNIT_DONE();
}
