/* strata.conf: the INI configuration file of the CLI and the daemons,
 * read like pgBackRest's (docs/cli.md, "Configuration file").
 *
 *   # comment            ; comment too; no comments after a value
 *   [global]             every command
 *   [global:backup]      one command (the first word: "cp", "cluster", ...)
 *   [db1]                commands run with --node db1
 *   [cluster:c1]         commands run with --cluster c1
 *   pool = /var/lib/strata/pool
 *
 * Keys are long option names without "--" ("_" reads as "-"); a key given
 * twice in one section is an option given twice. The file is untrusted
 * input: bounded in size and line length, every line validated, errors
 * name the file and the line. */
#ifndef STRATA_CLI_CONFIG_FILE_H
#define STRATA_CLI_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_LINE_MAX 4096
#define CONFIG_DEFAULT_PATH "/etc/strata/strata.conf"

typedef struct ConfigEntry
{
    char *section;
    char *key;        /* normalised: lower case, '-' for '_' */
    char *value;
    int line;
} ConfigEntry;

typedef struct ConfigFile
{
    char *path;
    ConfigEntry *entries;
    size_t count;
} ConfigFile;

/* Parses PATH. A missing file is an error (the caller decides whether a
 * missing default file is fine). */
int config_file_read(const char *path, ConfigFile *out, Error *err);
/* Parses TEXT (len bytes) as if read from PATH. */
int config_file_parse(const char *path, const char *text, size_t len, ConfigFile *out, Error *err);
void config_file_free(ConfigFile *f);
/* True if TEXT looks like a JSON document (the daemons' older format). */
bool config_text_is_json(const char *text, size_t len);

#endif
