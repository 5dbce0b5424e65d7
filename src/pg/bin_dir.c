/* Where PostgreSQL's programs are (bin_dir.h). */
#include "pg/bin_dir.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

char *
pg_bin_dir(const char *override, int pg_version_num)
{
    if (override)
        return xstrdup(override);
    char *dir = xprintf("/usr/lib/postgresql/%d/bin", pg_version_num / 10000);
    char *ctl = xprintf("%s/pg_ctl", dir);
    bool ok = access(ctl, X_OK) == 0;
    free(ctl);
    if (ok)
        return dir;
    free(dir);
    FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
    char line[4096] = "";
    if (p)
    {
        if (!fgets(line, sizeof(line), p))
            line[0] = '\0';
        pclose(p);
    }
    line[strcspn(line, "\n")] = '\0';
    return xstrdup(*line ? line : "/usr/bin");
}
