/* hba_prepend (restore/standby.h): a restore's pg_hba.conf lines go before
 * the restored node's own, which follow unchanged; a line with a line
 * break is refused and the file left as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "restore/standby.h"
#include "unit.h"

static char *
read_all(const char *path)
{
    Buffer b = {0};
    Error err;
    if (read_small_file(path, &b, &err) != 0)
        return NULL;
    return b.data ? b.data : xstrdup("");
}

int main(void)
{
    char dir[] = "/tmp/strata-unit-hba.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char *path = xprintf("%s/pg_hba.conf", dir);
    const char *source = "local all all trust\nhost all all 10.0.0.0/24 scram-sha-256\nhost all all 0.0.0.0/0 reject\n";
    FILE *f = fopen(path, "w");
    fputs(source, f);
    fclose(f);
    Error err;

    CHECK(hba_prepend(dir, NULL, 0, &err) == 0, "no lines: nothing to do");
    char *s = read_all(path);
    CHECK(s && !strcmp(s, source), "no lines: the file is unchanged");
    free(s);

    const char *lines[] = {"host all all 10.1.0.0/24 trust", "host replication all 10.1.0.0/24 trust"};
    CHECK(hba_prepend(dir, lines, 2, &err) == 0, "two lines prepended");
    s = read_all(path);
    char *first = s ? strstr(s, "host all all 10.1.0.0/24 trust\n") : NULL;
    char *second = s ? strstr(s, "host replication all 10.1.0.0/24 trust\n") : NULL;
    char *own = s ? strstr(s, source) : NULL;
    CHECK(first && second && own && first < second && second < own,
          "the restore's lines first, in order, then the node's own lines unchanged (its reject comes after them)");
    free(s);

    const char *bad[] = {"host all all 10.2.0.0/24 trust\nhost all all 0.0.0.0/0 trust"};
    s = read_all(path);
    CHECK(hba_prepend(dir, bad, 1, &err) != 0 && strstr(err.msg, "line break") && strstr(err.msg, path),
          "a line with a line break is refused, naming the file");
    char *after = read_all(path);
    CHECK(s && after && !strcmp(s, after), "after the refusal the file is as it was");
    free(s);
    free(after);

    char *missing = xprintf("%s/none", dir);
    CHECK(hba_prepend(missing, lines, 1, &err) != 0 && strstr(err.msg, "pg_hba.conf"),
          "a data directory without pg_hba.conf is an error naming it");
    free(missing);

    unlink(path);
    rmdir(dir);
    free(path);
    UNIT_DONE();
}
