/* The retention after a backup: when it applies, which retention (the
 * backup's options, else its scope's one policy), and the request codec's
 * expire-auto, keep and keep-days (flags and JSON, refused values). */
#include <string.h>

#include "expire/auto_expire.h"
#include "request/backup_request.h"
#include "unit.h"

static int
node_request(const char *const *flags, BackupRequest *r, Error *err)
{
    char *argv[16] = {"backup", "--node", "db1", "--pgdata", "/srv/pg"};
    int argc = 5;
    for (size_t i = 0; flags[i]; i++)
        argv[argc++] = (char *) flags[i];
    backup_request_init(r);
    return backup_request_from_argv(argc, argv, r, err) == 0 && backup_request_validate(r, BACKUP_AT_LOCAL, err) == 0
               ? 0
               : -1;
}

int main(void)
{
    AutoExpireChoice c;
    RetentionPolicy last3 = {.id = 4, .keep_last = 3}, days7 = {.id = 9, .keep_days = 7},
                    last3b = {.id = 11, .keep_last = 3};

    /* Nothing set: nothing applied, silently; asked for (y): a warning. */
    auto_expire_decide(EXPIRE_AUTO_UNSET, 0, 0, NULL, 0, false, &c);
    CHECK(!c.apply && !c.warn && strstr(c.reason, "no retention set"), "no retention anywhere: none, no warning");
    auto_expire_decide(EXPIRE_AUTO_ON, 0, 0, NULL, 0, false, &c);
    CHECK(!c.apply && c.warn, "expire-auto y without a retention: none, with a warning");

    /* The backup's own options win over the policy. */
    auto_expire_decide(EXPIRE_AUTO_UNSET, 2, 0, &days7, 1, false, &c);
    CHECK(c.apply && c.keep == 2 && c.keep_days == 0 && strstr(c.source, "--keep"), "--keep 2 wins over a policy");
    auto_expire_decide(EXPIRE_AUTO_UNSET, 0, 5, NULL, 0, false, &c);
    CHECK(c.apply && c.keep == 0 && c.keep_days == 5 && strstr(c.source, "--keep-days"), "--keep-days 5");

    /* Off: nothing, whatever is set. */
    auto_expire_decide(EXPIRE_AUTO_OFF, 2, 0, &last3, 1, false, &c);
    CHECK(!c.apply && !c.warn && strstr(c.reason, "off"), "expire-auto n: none even with --keep and a policy");

    /* The scope's policy. */
    auto_expire_decide(EXPIRE_AUTO_UNSET, 0, 0, &last3, 1, false, &c);
    CHECK(c.apply && c.keep == 3 && !strncmp(c.source, "policy 4", 8), "the scope's one policy: keep the last 3");
    auto_expire_decide(EXPIRE_AUTO_UNSET, 0, 0, &days7, 1, false, &c);
    CHECK(c.apply && c.keep == 0 && c.keep_days == 7 && strstr(c.source, "policy 9"), "a keep_days policy");
    RetentionPolicy same[] = {last3, last3b}, differ[] = {last3, days7};
    auto_expire_decide(EXPIRE_AUTO_UNSET, 0, 0, same, 2, false, &c);
    CHECK(c.apply && c.keep == 3 && strstr(c.source, "policy 4"), "two policies that agree: that retention");
    auto_expire_decide(EXPIRE_AUTO_UNSET, 0, 0, differ, 2, false, &c);
    CHECK(!c.apply && c.warn && strstr(c.reason, "policies 4 9") && strstr(c.reason, "none applied"),
          "two policies that disagree: none, both named");

    /* A policy's own backup: its expire job applies the retention. */
    auto_expire_decide(EXPIRE_AUTO_UNSET, 0, 0, &last3, 1, true, &c);
    CHECK(!c.apply && !c.warn && strstr(c.reason, "expire job"), "a policy's backup leaves it to the expire job");

    /* The codec: flags, JSON, refused values. */
    BackupRequest r;
    Error err;
    const char *ok1[] = {"--keep", "3", "--expire-auto", "y", NULL};
    CHECK(node_request(ok1, &r, &err) == 0 && r.keep == 3 && r.expire_auto == EXPIRE_AUTO_ON, "--keep 3 --expire-auto y");
    json_object *j = backup_request_to_json(&r);
    const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    CHECK(strstr(text, "\"keep\":3") && strstr(text, "\"expire_auto\":\"y\""), "to_json writes keep and expire_auto");
    BackupRequest back;
    backup_request_init(&back);
    CHECK(backup_request_from_json(j, &back, &err) == 0 && back.keep == 3 && back.expire_auto == EXPIRE_AUTO_ON,
          "from_json reads them back");
    backup_request_free(&back);
    json_object_put(j);
    backup_request_free(&r);
    const char *off[] = {"--expire-auto", "no", NULL};
    CHECK(node_request(off, &r, &err) == 0 && r.expire_auto == EXPIRE_AUTO_OFF, "--expire-auto no is n");
    backup_request_free(&r);
    const char *bad[] = {"--expire-auto", "maybe", NULL};
    CHECK(node_request(bad, &r, &err) != 0 && strstr(err.msg, "expire-auto") && strstr(err.msg, "maybe"),
          "--expire-auto maybe refused, named");
    backup_request_free(&r);
    const char *both[] = {"--keep", "3", "--keep-days", "2", NULL};
    CHECK(node_request(both, &r, &err) != 0 && strstr(err.msg, "not both"), "--keep with --keep-days refused");
    backup_request_free(&r);
    const char *zero[] = {"--keep", "0", NULL};
    CHECK(node_request(zero, &r, &err) != 0 && strstr(err.msg, "keep"), "--keep 0 refused");
    backup_request_free(&r);

    /* Through the cluster manager: the retention fields are taken. */
    backup_request_init(&r);
    json_object *body = json_tokener_parse("{\"cluster\": \"c1\", \"keep_days\": 3, \"expire_auto\": \"y\"}");
    CHECK(backup_request_from_json(body, &r, &err) == 0 && backup_request_validate(&r, BACKUP_AT_MANAGER, &err) == 0 &&
              r.keep_days == 3,
          "the manager takes keep_days and expire_auto");
    json_object_put(body);
    backup_request_free(&r);
    UNIT_DONE();
}
