/* The CLI's side of the cluster manager's HTTP/JSON API (docs/cli.md,
 * "Through the cluster manager"): requests with the bearer token, jobs
 * followed to their end with progress on a terminal. libcurl. */
#ifndef STRATA_MANAGER_CLIENT_H
#define STRATA_MANAGER_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>

#include "common/error.h"

typedef struct ManagerClient
{
    char *url;         /* without a trailing '/' */
    char *token;       /* from the token file; never from the command line */
    char *cacert;      /* a CA file for https, or NULL for the system's */
    void *curl;        /* CURL * */
} ManagerClient;

/* Options every manager command takes. */
typedef struct ClientOptions
{
    const char *manager;      /* --manager or STRATA_MANAGER */
    const char *token_file;   /* --token-file or STRATA_TOKEN_FILE */
    const char *cacert;       /* --cacert or STRATA_MANAGER_CACERT */
    bool quiet;
    bool json;
} ClientOptions;

/* The URL --manager names on the command line (after a seed rewrite), or
 * NULL. "--manager=URL" and "--manager URL" forms. */
const char *client_manager_arg(int argc, char **argv);

/* Reads the token file, checks the URL. */
int client_open(ManagerClient *c, const ClientOptions *o, Error *err);
void client_close(ManagerClient *c);

/* METHOD path (e.g. "/api/v1/jobs") with an optional JSON body. On a
 * 2xx answer, *out is the parsed JSON and 0 is returned. An unreachable
 * manager, a 4xx/5xx (with the manager's "error" message) or an answer
 * that is not JSON: -1 with *err naming the URL and the cause;
 * *status is the HTTP status (0 when there was no answer). */
int client_request(ManagerClient *c, const char *method, const char *path, json_object *body, int *status,
                   json_object **out, Error *err);

/* Polls job `id` until it is succeeded or failed; *job: its last JSON.
 * Shows the state and, when the job reports it, bytes done / total, rate
 * and ETA on stderr if that is a terminal and !quiet. */
int client_follow_job(ManagerClient *c, long long id, bool quiet, json_object **job, Error *err);

/* A job as text lines: id, cluster, kind, state, times, params, result, reason. */
void client_print_job(json_object *job);

#endif
