#include "cli/config_file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

static bool
section_char_ok(char c)
{
    return isalnum((unsigned char) c) || strchr("_.:/-", c);
}

static bool
key_char_ok(char c)
{
    return islower((unsigned char) c) || isdigit((unsigned char) c) || c == '-';
}

static char *
trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static void
add_entry(ConfigFile *f, const char *section, const char *key, const char *value, int line)
{
    f->entries = xrealloc(f->entries, (f->count + 1) * sizeof(ConfigEntry));
    ConfigEntry *e = &f->entries[f->count++];
    e->section = xstrdup(section);
    e->key = xstrdup(key);
    e->value = xstrdup(value);
    e->line = line;
}

/* "[name]": the section's name into *section. */
static int
parse_section(const char *path, int lineno, char *s, char **section, Error *err)
{
    size_t n = strlen(s);
    if (n < 3 || s[n - 1] != ']')
        return error_set(err, "%s:%d: a section header is [NAME], not '%s'", path, lineno, s);
    s[n - 1] = '\0';
    char *name = s + 1;
    for (char *p = name; *p; p++)
        if (!section_char_ok(*p))
            return error_set(err, "%s:%d: section name '%s': only letters, digits and _ . : / - are allowed", path,
                             lineno, name);
    free(*section);
    *section = xstrdup(name);
    return 0;
}

static int
parse_setting(const char *path, int lineno, char *s, const char *section, ConfigFile *f, Error *err)
{
    char *eq = strchr(s, '=');
    if (!eq)
        return error_set(err, "%s:%d: expected KEY = VALUE, [SECTION] or a # comment, not '%s'", path, lineno, s);
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    if (!*key)
        return error_set(err, "%s:%d: a setting without a key", path, lineno);
    for (char *p = key; *p; p++)
    {
        if (*p == '_')
            *p = '-';
        *p = (char) tolower((unsigned char) *p);
        if (!key_char_ok(*p))
            return error_set(err, "%s:%d: key '%s': a key is an option's long name (letters, digits, -)", path,
                             lineno, key);
    }
    if (!section)
        return error_set(err, "%s:%d: '%s' is before any section: start with [global]", path, lineno, key);
    if (!*value)
        return error_set(err, "%s:%d: %s has no value", path, lineno, key);
    add_entry(f, section, key, value, lineno);
    return 0;
}

int
config_file_parse(const char *path, const char *text, size_t len, ConfigFile *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    out->path = xstrdup(path);
    if (memchr(text, '\0', len))
    {
        config_file_free(out);
        return error_set(err, "%s: contains a NUL byte: not a text file", path);
    }
    char *section = NULL;
    int rc = 0, lineno = 0;
    size_t pos = 0;
    while (rc == 0 && pos < len)
    {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t) (nl - (text + pos)) : len - pos;
        if (n > CONFIG_LINE_MAX)
        {
            rc = error_set(err, "%s:%d: line longer than %d bytes", path, lineno, CONFIG_LINE_MAX);
            break;
        }
        char *line = xprintf("%.*s", (int) n, text + pos);
        pos += n + (nl ? 1 : 0);
        char *s = trim(line);
        if (*s == '[')
            rc = parse_section(path, lineno, s, &section, err);
        else if (*s && *s != '#' && *s != ';')
            rc = parse_setting(path, lineno, s, section, out, err);
        free(line);
    }
    free(section);
    if (rc != 0)
        config_file_free(out);
    return rc;
}

int
config_file_read(const char *path, ConfigFile *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_errno(err, "configuration file %s: cannot open", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    {
        close(fd);
        return error_set(err, "configuration file %s: not a regular file", path);
    }
    Buffer b = {0};
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0 && b.len <= CONFIG_FILE_MAX)
        buffer_append(&b, buf, (size_t) n);
    int saved = errno;
    close(fd);
    int rc;
    if (n < 0)
    {
        errno = saved;
        rc = error_errno(err, "configuration file %s: cannot read", path);
    }
    else if (b.len > CONFIG_FILE_MAX)
        rc = error_set(err, "configuration file %s: larger than %d bytes", path, CONFIG_FILE_MAX);
    else
        rc = config_file_parse(path, b.data ? (const char *) b.data : "", b.len, out, err);
    buffer_free(&b);
    return rc;
}

void
config_file_free(ConfigFile *f)
{
    for (size_t i = 0; i < f->count; i++)
    {
        free(f->entries[i].section);
        free(f->entries[i].key);
        free(f->entries[i].value);
    }
    free(f->entries);
    free(f->path);
    memset(f, 0, sizeof(*f));
}

bool
config_text_is_json(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
    {
        if (!isspace((unsigned char) text[i]))
            return text[i] == '{';
    }
    return false;
}
