/* strata cluster-manager --config FILE: the daemon's entry point. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "catalog/catalog.h"
#include "catalog/jobs.h"
#include "catalog/policies.h"
#include "common/log.h"
#include "common/util.h"
#include "manager/manager.h"
#include "nodemgr/nodemgr.h"

static const char usage_text[] =
    "usage: strata cluster-manager --config FILE\n"
    "  Serves the HTTP/JSON API (docs/manager.md) until SIGTERM or SIGINT.\n"
    "  FILE (JSON): {\"listen\": \"127.0.0.1:8080\", \"token_file\": \"/path\" (or \"token\"),\n"
    "               \"meta_conn\": \"CONNINFO\", \"pool\": \"/path\",\n"
    "               \"tls_cert\": \"/path\", \"tls_key\": \"/path\" (optional, both or neither)}\n"
    "  The API token is read from the file only: there is no option for it, so it never\n"
    "  appears in a process listing.\n";

static int
run(const char *config)
{
    Manager m;
    memset(&m, 0, sizeof(m));
    Error err;
    if (manager_config_load(config, &m.cfg, &err) != 0)
        return cli_fail(&err);
    nodemgr_client_tls(m.cfg.node_ca_file, m.cfg.tls_cert, m.cfg.tls_key);
    /* Before any thread exists, so that every thread inherits the mask and
     * the signals reach manager_serve's sigwait only. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&m.admit_lock, NULL);
    meta_conns_init(&m.conns, m.cfg.meta_conn);
    cp_cache_init(&m.cps);
    int rc = 0;
    m.meta = catalog_connect(m.cfg.meta_conn, false, &err);
    if (!m.meta)
        rc = -1;
    long recovered = 0;
    if (rc == 0)
        rc = catalog_jobs_ensure(m.meta, &err);
    if (rc == 0)
        rc = catalog_policies_ensure(m.meta, &err);
    if (rc == 0)
        rc = catalog_jobs_fail_running(m.meta, "cluster manager restarted while the job was running", &recovered, &err);
    if (rc == 0 && recovered > 0)
        log_warn("%ld job(s) were running when the cluster manager stopped: marked failed", recovered);
    if (rc == 0)
    {
        /* The startup connection serves requests from now on. */
        meta_conns_give(&m.conns, m.meta);
        m.meta = NULL;
    }
    if (rc == 0)
        rc = pool_open(m.cfg.pool, &m.pool, &err);
    if (rc == 0)
        rc = jobs_start(&m.jobs, &m.cfg, &err);
    if (rc == 0)
        rc = scheduler_start(&m.scheduler, &m.cfg, &m.jobs, &err);
    if (rc == 0)
        rc = manager_serve(&m, &err);
    scheduler_stop(&m.scheduler);
    jobs_stop(&m.jobs);
    pool_close(m.pool);
    cp_cache_free(&m.cps);
    PQfinish(m.meta);
    meta_conns_close(&m.conns);
    pthread_mutex_destroy(&m.admit_lock);
    manager_config_free(&m.cfg);
    return rc == 0 ? 0 : cli_fail(&err);
}

int
cmd_cluster_manager(int argc, char **argv)
{
    const char *config;
    int code = daemon_command_line(argc, argv, "cluster-manager", usage_text, "the API token is read from it", &config);
    return code == CLI_CONTINUE ? run(config) : code;
}
