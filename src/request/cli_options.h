/* The command line of a command that is one request (backup, restore,
 * expire): the common options, then one --flag per field of the request's
 * schema (request/codec.h), so that a field added to a request is a flag
 * of its command at once, read by the same setter as its JSON spelling. */
#ifndef STRATA_REQUEST_CLI_OPTIONS_H
#define STRATA_REQUEST_CLI_OPTIONS_H

#include "cli/cli.h"
#include "request/codec.h"

/* Parses argv into co (the common options: --pool, --node, ...) and req
 * (the schema's fields). --node is a common option: the caller hands
 * co->node to the request. CLI_CONTINUE, or the exit code after printing
 * the usage error or the help. */
int cli_request_options(const char *cmd, const char *usage, const RequestSchema *schema, void *req,
                        CommonOptions *co, int argc, char **argv);

#endif
