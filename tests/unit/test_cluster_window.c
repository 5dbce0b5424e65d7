/* Which CPs info --pool reports as recoverable: those at or after the
 * oldest complete cluster backup's end CP. */
#include <string.h>

#include "info/cluster_info.h"
#include "unit.h"

static ConsistencyPoint
cp_at(double t)
{
    ConsistencyPoint c;
    memset(&c, 0, sizeof(c));
    c.time = t;
    return c;
}

int
main(void)
{
    ConsistencyPoint cps[] = {cp_at(50), cp_at(100), cp_at(300), cp_at(200), cp_at(90)};
    ClusterWindow w;
    cluster_window(cps, 5, 100, &w);
    CHECK(w.count == 3 && w.first == 1 && w.last == 2, "from the backup's own CP to the newest, unsorted input");
    cluster_window(cps, 5, 1e300, &w);
    CHECK(w.count == 0, "no backup: nothing recoverable");
    cluster_window(cps, 5, 301, &w);
    CHECK(w.count == 0, "no CP at or after the backup's: nothing recoverable");
    cluster_window(NULL, 0, 0, &w);
    CHECK(w.count == 0, "no CP at all");
    cluster_window(cps, 5, 0, &w);
    CHECK(w.count == 5 && w.first == 0 && w.last == 2, "every CP when the backup is older than all");
    UNIT_DONE();
}
