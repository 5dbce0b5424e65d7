/* Quoting for postgresql.auto.conf and for shell words; setting names. */
#include <string.h>

#include "common/quote.h"
#include "unit.h"

static bool
conf_is(const char *value, const char *expected)
{
    Buffer b = {0};
    Error err;
    bool ok = pg_conf_quote(&b, value, &err) == 0 && b.data && !strcmp(b.data, expected);
    buffer_free(&b);
    return ok;
}

static bool
conf_refused(const char *value)
{
    Buffer b = {0};
    Error err;
    bool refused = pg_conf_quote(&b, value, &err) != 0 && strstr(err.msg, "control character");
    buffer_free(&b);
    return refused;
}

int main(void)
{
    Error err;
    CHECK(conf_is("plain", "'plain'"), "plain value quoted");
    CHECK(conf_is("", "''"), "empty value");
    CHECK(conf_is("it's", "'it''s'"), "single quote doubled");
    CHECK(conf_is("C:\\dir\\", "'C:\\\\dir\\\\'"), "backslashes doubled (a trailing one cannot eat the quote)");
    CHECK(conf_is("a' b", "'a'' b'"), "quote then space");
    CHECK(conf_refused("x'\nrestore_command = 'touch /tmp/pwned"), "newline refused (no second setting)");
    CHECK(conf_refused("a\rb"), "carriage return refused");
    CHECK(conf_refused("a\tb"), "tab refused");
    CHECK(conf_refused("a\x1b[2Jb"), "escape refused");

    CHECK(pg_setting_name_check("work_mem", &err) == 0, "work_mem is a name");
    CHECK(pg_setting_name_check("auto_explain.log_min_duration", &err) == 0, "custom ext.name is a name");
    CHECK(pg_setting_name_check("", &err) != 0, "empty name refused");
    CHECK(pg_setting_name_check("a b", &err) != 0, "space refused");
    CHECK(pg_setting_name_check("x\nrestore_command", &err) != 0, "newline in a name refused");
    CHECK(pg_setting_name_check("port=5", &err) != 0, "'=' in a name refused");
    CHECK(pg_setting_name_check("1abc", &err) != 0, "leading digit refused");
    CHECK(pg_setting_name_check("a..b", &err) != 0 && pg_setting_name_check("a.", &err) != 0, "odd dots refused");
    char longname[80];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK(pg_setting_name_check(longname, &err) != 0, "79-character name refused");

    Buffer b = {0};
    CHECK(pg_conf_assignment_line(&b, "work_mem=64MB", &err) == 0 && !strcmp(b.data, "work_mem = '64MB'\n"),
          "NAME=VALUE becomes one line");
    size_t before = b.len;
    CHECK(pg_conf_assignment_line(&b, "work_mem=1'\nrestore_command='x", &err) != 0 && b.len == before,
          "a refused value leaves nothing half-written");
    CHECK(pg_conf_assignment_line(&b, "=5", &err) != 0, "=5 refused");
    CHECK(pg_conf_assignment_line(&b, "noequals", &err) != 0, "missing '=' refused");
    CHECK(pg_conf_assignment_line(&b, "shared_preload_libraries=a=b", &err) == 0 &&
              strstr(b.data, "shared_preload_libraries = 'a=b'\n"),
          "the value may hold '='");
    buffer_free(&b);
    CHECK(pg_setting_assignment_check("a b=c", &err) != 0 && strstr(err.msg, "'a b'"), "check names the bad name");

    char *q = shell_quote("db;touch X;true");
    CHECK(!strcmp(q, "'db;touch X;true'"), "shell metacharacters stay inside quotes");
    free(q);
    q = shell_quote("it's");
    CHECK(!strcmp(q, "'it'\\''s'"), "a quote in a shell word");
    free(q);
    q = shell_quote("");
    CHECK(!strcmp(q, "''"), "empty shell word");
    free(q);
    q = pg_command_word("/pool/%p dir");
    CHECK(!strcmp(q, "'/pool/%%p dir'"), "percent doubled for restore_command");
    free(q);
    b = (Buffer){0};
    conninfo_quote(&b, "/tmp/it's \\ x");
    CHECK(!strcmp(b.data, "'/tmp/it\\'s \\\\ x'"), "conninfo value: quote and backslash escaped");
    buffer_free(&b);
    UNIT_DONE();
}
