/* Crash points: a test hook that kills the process (SIGKILL, as kill -9
 * would) at the Nth passage through a named point of its work, so a test
 * can stop backup, wal-push, restore and expire exactly between two of
 * their steps (tests/integration/t_45_crash_points.sh).
 *
 *   STRATA_CRASH_AT=<point>:<n>   die at the n-th (1-based) passage of <point>
 *
 * Compiled in only when STRATA_CRASH_POINTS is defined: the sanitizer
 * build (make asan), which the tests run; the release build (make) has
 * none and ignores the variable. The points are listed in docs/design.md
 * ("Crash points"). */
#ifndef STRATA_CRASHPOINT_H
#define STRATA_CRASHPOINT_H

#ifdef STRATA_CRASH_POINTS
void crash_point(const char *point);
#else
static inline void
crash_point(const char *point)
{
    (void) point;
}
#endif

#endif
