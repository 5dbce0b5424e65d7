/* Where PostgreSQL's programs (pg_ctl, initdb, psql, pg_dumpall) are. */
#ifndef STRATA_PG_BIN_DIR_H
#define STRATA_PG_BIN_DIR_H

/* PostgreSQL's binaries: override, else /usr/lib/postgresql/<major>/bin,
 * else pg_config --bindir. Caller frees. */
char *pg_bin_dir(const char *override, int pg_version_num);

#endif
