/* Backup policies: the daily window's syntax and when a policy is due. */
#include <string.h>
#include <time.h>

#include "manager/manager.h"
#include "unit.h"

/* 2026-11-24 00:00:00 UTC plus h:m */
static time_t
at(int h, int m)
{
    return (time_t) 1795478400 + h * 3600 + m * 60;
}

int main(void)
{
    Error err;
    int s, e;
    CHECK(policy_window_parse("01:00-03:30", &s, &e, &err) == 0 && s == 60 && e == 210, "01:00-03:30 parses");
    CHECK(policy_window_parse("23:00-01:00", &s, &e, &err) == 0 && s == 1380 && e == 60, "a window past midnight");
    CHECK(policy_window_parse("24:00-01:00", &s, &e, &err) != 0, "hour 24 refused");
    CHECK(policy_window_parse("01:60-02:00", &s, &e, &err) != 0, "minute 60 refused");
    CHECK(policy_window_parse("1:00-2:00", &s, &e, &err) != 0, "H:MM refused");
    CHECK(policy_window_parse("01:00-02:00x", &s, &e, &err) != 0, "trailing junk refused");
    CHECK(policy_window_parse("02:00-02:00", &s, &e, &err) != 0 && strstr(err.msg, "empty"), "empty window refused");
    CHECK(policy_window_parse("", &s, &e, &err) != 0, "empty text refused");

    /* A period. */
    CHECK(policy_due(60, NULL, false, 0, at(12, 0)), "a period: due when it never ran");
    CHECK(!policy_due(60, NULL, true, (double) at(12, 0), at(12, 0) + 59), "a period: not due 59 s after");
    CHECK(policy_due(60, NULL, true, (double) at(12, 0), at(12, 1)), "a period: due 60 s after");

    /* A window 01:00-03:00. */
    CHECK(!policy_due(0, "01:00-03:00", false, 0, at(0, 59)), "window: not before it opens");
    CHECK(policy_due(0, "01:00-03:00", false, 0, at(1, 0)), "window: due when it opens");
    CHECK(!policy_due(0, "01:00-03:00", false, 0, at(3, 0)), "window: not once it closed");
    CHECK(!policy_due(0, "01:00-03:00", true, (double) at(1, 5), at(2, 0)), "window: once per window");
    CHECK(policy_due(0, "01:00-03:00", true, (double) at(1, 5) - 86400, at(1, 30)), "window: again the next day");
    /* A window 23:00-01:00, past midnight. */
    CHECK(policy_due(0, "23:00-01:00", true, (double) at(23, 10) - 86400, at(23, 30)), "wrapping window: due at 23:30");
    CHECK(!policy_due(0, "23:00-01:00", true, (double) at(23, 10) - 86400, at(0, 30)),
          "wrapping window: ran at 23:10 yesterday, not again at 00:30");
    CHECK(policy_due(0, "23:00-01:00", true, (double) at(22, 0) - 86400, at(0, 30)),
          "wrapping window: due at 00:30 if it last ran before 23:00 yesterday");
    CHECK(!policy_due(0, "23:00-01:00", false, 0, at(12, 0)), "wrapping window: not at noon");
    CHECK(!policy_due(0, "nonsense", false, 0, at(12, 0)), "a bad window is never due");
    UNIT_DONE();
}
