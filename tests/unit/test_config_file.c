/* strata.conf (cli/config_file.c) and its INI form for the daemons
 * (daemon/config_ini.c): what is read, what is refused, and the line named. */
#include <string.h>

#include "cli/config_file.h"
#include "daemon/daemon.h"
#include "unit.h"

static int
parse(const char *text, ConfigFile *f, Error *err)
{
    return config_file_parse("t.conf", text, strlen(text), f, err);
}

int main(void)
{
    Error err;
    ConfigFile f;
    CHECK(parse("# c\n[global]\npool = /p\n; c\n\n[db1]\nPG_Conn =  host=x port=5 # not a comment \n", &f, &err) == 0,
          "a valid file parses");
    CHECK(f.count == 2, "two settings");
    CHECK(!strcmp(f.entries[0].section, "global") && !strcmp(f.entries[0].key, "pool") &&
              !strcmp(f.entries[0].value, "/p") && f.entries[0].line == 3,
          "section, key, value and line of the first");
    CHECK(!strcmp(f.entries[1].key, "pg-conn"), "keys are lower-cased and '_' reads as '-'");
    CHECK(!strcmp(f.entries[1].value, "host=x port=5 # not a comment"), "a value keeps '#', trimmed");
    config_file_free(&f);

    CHECK(parse("pool = /p\n", &f, &err) != 0 && strstr(err.msg, "t.conf:1:"), "a setting before any section: line 1");
    CHECK(parse("[global]\n\njunk\n", &f, &err) != 0 && strstr(err.msg, "t.conf:3:"), "a line without '=': line 3");
    CHECK(parse("[glo bal]\n", &f, &err) != 0 && strstr(err.msg, "t.conf:1:"), "a bad section name");
    CHECK(parse("[global\n", &f, &err) != 0, "an unclosed section");
    CHECK(parse("[global]\npo/ol = 1\n", &f, &err) != 0 && strstr(err.msg, "t.conf:2:"), "a bad key");
    CHECK(parse("[global]\npool =\n", &f, &err) != 0 && strstr(err.msg, "has no value"), "an empty value");
    CHECK(config_file_parse("t.conf", "[global]\0x=1", 12, &f, &err) != 0 && strstr(err.msg, "NUL"), "a NUL byte");
    char longline[CONFIG_LINE_MAX + 20];
    memset(longline, 'x', sizeof(longline));
    memcpy(longline, "[global]\na=", 11);
    CHECK(config_file_parse("t.conf", longline, sizeof(longline), &f, &err) != 0 && strstr(err.msg, "t.conf:2:"),
          "a line longer than the limit");
    CHECK(parse("", &f, &err) == 0 && f.count == 0, "an empty file is no settings");
    config_file_free(&f);

    CHECK(config_text_is_json("  \n{\"a\": 1}", 10), "JSON is told from INI");
    CHECK(!config_text_is_json("[global]\n", 9), "INI is not JSON");

    const char *ini = "[global]\npool = /p\nlisten = 1.2.3.4:1\n[global:node-manager]\nlisten = 127.0.0.1:9\n"
                      "token-file = /t\n[instance:a]\npgdata = /d\npg-conn = port=1\n[db1]\npool = /other\n";
    json_object *o;
    CHECK(config_ini_to_json("t.conf", ini, strlen(ini), "node-manager", &o, &err) == 0, "INI to the daemon's JSON");
    json_object *v, *a;
    CHECK(json_object_object_get_ex(o, "listen", &v) && !strcmp(json_object_get_string(v), "127.0.0.1:9"),
          "the command's section wins over [global]");
    CHECK(json_object_object_get_ex(o, "token_file", &v), "token-file becomes token_file");
    CHECK(json_object_object_get_ex(o, "pool", &v) && !strcmp(json_object_get_string(v), "/p"),
          "a node's section is the CLI's, not the daemon's");
    CHECK(json_object_object_get_ex(o, "instances", &a) && json_object_array_length(a) == 1 &&
              json_object_object_get_ex(json_object_array_get_idx(a, 0), "pg_conn", &v),
          "[instance:a] is one of instances");
    json_object_put(o);
    const char *bad = "[global]\npool = /p\n[node-manager:h]\nport = 1\n";
    CHECK(config_ini_to_json("t.conf", bad, strlen(bad), "cluster-manager", &o, &err) != 0 && strstr(err.msg, "t.conf:4"),
          "[node-manager:H] takes url only, named with its line");
    UNIT_DONE();
}
