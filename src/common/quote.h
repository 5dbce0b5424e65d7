/* Quoting for the two places strata writes values it did not choose:
 * PostgreSQL configuration files (postgresql.auto.conf), shell command
 * lines (restore_command, archive_command) and libpq connection strings.
 * One function for each target; every value that reaches one goes
 * through it. */
#ifndef STRATA_QUOTE_H
#define STRATA_QUOTE_H

#include "common/util.h"

/* A PostgreSQL setting name: a letter or '_', then letters, digits, '_'
 * and '.' (custom "ext.name" settings), lower case, under 64 characters
 * (NAMEDATALEN). Anything else could not be a setting and, in a
 * configuration file, could start a second one. */
int pg_setting_name_check(const char *name, Error *err);

/* Appends `value` as a configuration-file string: in single quotes, a
 * quote or backslash doubled (PostgreSQL reads backslash escapes inside
 * quoted values). A value with a newline, carriage return or another
 * control character is refused: the configuration grammar has no way to
 * write one, and it would end the line and begin another setting. */
int pg_conf_quote(Buffer *b, const char *value, Error *err);

/* Appends the line "name = 'value'\n": name checked, value quoted. */
int pg_conf_line(Buffer *b, const char *name, const char *value, Error *err);

/* Checks a "NAME=VALUE" assignment (`restore --set`, node-manager
 * settings) the way pg_conf_line will write it: name and value both. */
int pg_setting_assignment_check(const char *assignment, Error *err);
/* Appends an assignment checked by pg_setting_assignment_check as a line. */
int pg_conf_assignment_line(Buffer *b, const char *assignment, Error *err);

/* Appends `value` as a libpq connection-string value: in single quotes,
 * a quote or backslash escaped with a backslash (a socket directory or
 * host name read back from a data directory or a topology cannot add
 * another keyword). */
void conninfo_quote(Buffer *b, const char *value);

/* `s` as one shell word: in single quotes, each quote written as '\''.
 * Every byte but NUL stands for itself inside; caller frees. */
char *shell_quote(const char *s);

/* `s` as one shell word of a restore_command or archive_command:
 * shell_quote'd, then each '%' doubled, because PostgreSQL replaces
 * %f, %p, %r and %% in the command before the shell sees it (a pool path
 * holding "%p" would otherwise become the WAL file's path). Caller frees. */
char *pg_command_word(const char *s);

#endif
