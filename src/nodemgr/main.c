/* strata node-manager --config FILE: the daemon's entry point. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "nodemgr/nodemgr.h"

static const char usage_text[] =
    "usage: strata node-manager --config FILE\n"
    "  Runs the cluster manager's tasks on this host (node backups, instance start/stop,\n"
    "  WAL archive status, standby rebuild from the pool) through an HTTP/JSON API\n"
    "  (docs/manager.md, \"Node managers\")\n"
    "  until SIGTERM or SIGINT; running tasks end first.\n"
    "  FILE (JSON): {\"listen\": \"127.0.0.1:8081\", \"token_file\": \"/path\", \"pool\": \"/path\",\n"
    "               \"pg_bin\": \"/usr/lib/postgresql/15/bin\" (optional),\n"
    "               \"max_rate\": \"50M\" (optional: a cap on backup reads, bytes/s),\n"
    "               \"tls_cert\": \"/path\", \"tls_key\": \"/path\" (optional, both or neither: HTTPS),\n"
    "               \"instances\": [{\"name\": N, \"pgdata\": DIR, \"pg_conn\": CONNINFO}, ...] (optional)}\n"
    "  The token (the cluster manager presents it) is read from the file only.\n";

static int
run(const char *config)
{
    NodeManager nm;
    memset(&nm, 0, sizeof(nm));
    Error err;
    if (nodemgr_config_load(config, &nm.cfg, &err) != 0)
        return cli_fail(&err);
    /* Before any thread exists: every thread inherits the mask and the
     * signals reach http_serve's sigwait only. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    tasks_init(&nm.tasks, &nm.cfg);
    HttpServer s = {
        .name = "node manager",
        .host = nm.cfg.listen_host,
        .port = nm.cfg.listen_port,
        .token = nm.cfg.token,
        .token_len = nm.cfg.token_len,
        .tls_cert = nm.cfg.tls_cert,
        .tls_key = nm.cfg.tls_key,
        .tls_client_ca = nm.cfg.tls_client_ca,
        .handle = nodemgr_api_handle,
        .ctx = &nm,
    };
    int rc = http_serve(&s, &err);
    tasks_shutdown(&nm.tasks);
    nodemgr_config_free(&nm.cfg);
    return rc == 0 ? 0 : cli_fail(&err);
}

int
cmd_node_manager(int argc, char **argv)
{
    const char *config;
    int code = daemon_command_line(argc, argv, "node-manager", usage_text, "the token is read from it", &config);
    return code == CLI_CONTINUE ? run(config) : code;
}
