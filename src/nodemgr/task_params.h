/* A node-manager task's parameters (tasks.c and the kinds' files): the
 * checks they share, run before a task starts, and the readers of what
 * they checked. Errors name the member and what it must be; *status is
 * the HTTP status a failed check answers (400 unless said otherwise). */
#ifndef STRATA_NODEMGR_TASK_PARAMS_H
#define STRATA_NODEMGR_TASK_PARAMS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "nodemgr/nodemgr.h"

/* A pool node name: relative, no "..", plain characters. */
bool pool_node_ok(const char *s);
/* A data directory may be named only if it is one of the configured
 * instances' (any, when none is configured): 403 otherwise. */
int check_served_dir(const NodeManagerConfig *cfg, const char *dir, int *status, Error *err);
/* Fills params' pgdata and pg_conn from "instance", or checks the given
 * pgdata against the configured instances (404: no such instance). */
int resolve_instance(const NodeManagerConfig *cfg, json_object *params, bool need_pgdata, bool need_conn, int *status,
                     Error *err);
/* Members must be strings when present; keys ends with NULL. */
int check_strings(json_object *params, const char *const *keys, Error *err);
/* An integer member in [lo, hi]; required or, when absent, fine. */
int check_int(json_object *params, const char *key, bool required, int64_t lo, int64_t hi, const char *what,
              Error *err);
/* "jobs", when present: parallel copy threads, an integer from 1 to 64. */
int check_jobs(json_object *params, Error *err);
/* "settings": an object of strings, names of PostgreSQL settings. */
int check_settings(json_object *params, Error *err);
/* A data directory a task creates (absolute, one of the configured
 * instances' when any are); *status 400 or 403. */
int check_new_dir(const NodeManagerConfig *cfg, const char *key, const char *dir, int *status, Error *err);

/* "settings": {"name": "value", ...} as "name=value" strings (validated
 * by check_settings); the caller frees them with settings_free. */
char **settings_list(json_object *params, size_t *n);
void settings_free(char **list, size_t n);

#endif
