#include "common/quote.h"

#include <stdlib.h>
#include <string.h>

int
pg_setting_name_check(const char *name, Error *err)
{
    if (!name || !*name)
        return error_set(err, "setting name is empty");
    if (strlen(name) >= 64)
        return error_set(err, "setting name '%.64s...' is too long (63 characters at most)", name);
    if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
        return error_set(err, "'%s' is not a PostgreSQL setting name (it starts with a lower-case letter or '_')",
                         name);
    for (const char *c = name; *c; c++)
    {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '.';
        if (!ok)
            return error_set(err, "'%s' is not a PostgreSQL setting name (lower-case letters, digits, '_' and '.')",
                             name);
    }
    if (name[strlen(name) - 1] == '.' || strstr(name, ".."))
        return error_set(err, "'%s' is not a PostgreSQL setting name", name);
    return 0;
}

int
pg_conf_quote(Buffer *b, const char *value, Error *err)
{
    for (const unsigned char *c = (const unsigned char *) value; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return error_set(err, "value '%s' holds a control character (byte 0x%02x): a configuration value is one "
                                  "line of text", value, *c);
    buffer_append(b, "'", 1);
    for (const char *c = value; *c; c++)
    {
        if (*c == '\'' || *c == '\\')
            buffer_append(b, c, 1);
        buffer_append(b, c, 1);
    }
    buffer_append(b, "'", 1);
    return 0;
}

int
pg_conf_line(Buffer *b, const char *name, const char *value, Error *err)
{
    if (pg_setting_name_check(name, err) != 0)
        return -1;
    size_t mark = b->len;
    buffer_appendf(b, "%s = ", name);
    if (pg_conf_quote(b, value, err) != 0)
    {
        b->len = mark;   /* nothing half-written */
        if (b->data)
            b->data[mark] = '\0';
        return error_prefix(err, "setting %s: ", name);
    }
    buffer_append(b, "\n", 1);
    return 0;
}

/* Splits "NAME=VALUE" at the first '='; *name is malloc'd. */
static int
split_assignment(const char *assignment, char **name, const char **value, Error *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return error_set(err, "'%s' is not NAME=VALUE", assignment);
    *name = xprintf("%.*s", (int) (eq - assignment), assignment);
    *value = eq + 1;
    return 0;
}

int
pg_setting_assignment_check(const char *assignment, Error *err)
{
    Buffer scratch = {0};
    int rc = pg_conf_assignment_line(&scratch, assignment, err);
    buffer_free(&scratch);
    return rc;
}

int
pg_conf_assignment_line(Buffer *b, const char *assignment, Error *err)
{
    char *name = NULL;
    const char *value = NULL;
    if (split_assignment(assignment, &name, &value, err) != 0)
        return -1;
    int rc = pg_conf_line(b, name, value, err);
    free(name);
    return rc;
}

void
conninfo_quote(Buffer *b, const char *value)
{
    buffer_append(b, "'", 1);
    for (const char *p = value; *p; p++)
    {
        if (*p == '\'' || *p == '\\')
            buffer_append(b, "\\", 1);
        buffer_append(b, p, 1);
    }
    buffer_append(b, "'", 1);
}

char *
shell_quote(const char *s)
{
    Buffer b = {0};
    buffer_append(&b, "'", 1);
    for (const char *p = s; *p; p++)
    {
        if (*p == '\'')
            buffer_append(&b, "'\\''", 4);
        else
            buffer_append(&b, p, 1);
    }
    buffer_append(&b, "'", 1);
    return b.data;
}

char *
pg_command_word(const char *s)
{
    char *quoted = shell_quote(s);
    Buffer b = {0};
    for (const char *p = quoted; *p; p++)
    {
        if (*p == '%')
            buffer_append(&b, "%", 1);
        buffer_append(&b, p, 1);
    }
    free(quoted);
    return b.data;
}
