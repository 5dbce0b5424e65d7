/* strata key: make a key file; rotate the pool's key (re-wrap data keys). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"
#include "pipeline/aead.h"
#include "pool/keys.h"

static const char usage_text[] =
    "usage: strata key generate --out FILE\n"
    "         writes a new random 256-bit key (64 hex digits) to FILE, mode 0600; never overwrites\n"
    "       strata key rotate --pool POOL (--key-file OLD | --passphrase-file OLD)\n"
    "                         (--new-key-file NEW | --new-passphrase-file NEW)\n"
    "         re-wraps the pool key and every data key under the new key; no data object is rewritten.\n"
    "         Interrupted, it is rerun with the same arguments.\n"
    "  The key is always read from a file (or STRATA_KEY_FILE / STRATA_PASSPHRASE_FILE), never from the command line.\n";

enum { OPT_OUT = OPT_FIRST_COMMAND_OPTION, OPT_NEW_KEY, OPT_NEW_PASS };

static int
generate(const char *out, Error *err)
{
    uint8_t key[32];
    char hex[65];
    random_bytes(key, sizeof(key));
    hex_encode(key, sizeof(key), hex);
    memset(key, 0, sizeof(key));
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return error_errno(err, "cannot create key file %s%s", out, errno == EEXIST ? " (it exists: never overwritten)" : "");
    char line[66];
    snprintf(line, sizeof(line), "%s\n", hex);
    memset(hex, 0, sizeof(hex));
    int rc = 0;
    if (write(fd, line, 65) != 65 || fsync(fd) != 0)
        rc = error_errno(err, "cannot write key file %s", out);
    memset(line, 0, sizeof(line));
    if (close(fd) != 0 && rc == 0)
        rc = error_errno(err, "cannot write key file %s", out);
    if (rc != 0)
        unlink(out);
    return rc;
}

int
cmd_key(int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_LONG_OPTIONS,
        {"out", required_argument, NULL, OPT_OUT},
        {"new-key-file", required_argument, NULL, OPT_NEW_KEY},
        {"new-passphrase-file", required_argument, NULL, OPT_NEW_PASS},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || argv[1][0] == '-')
    {
        if (argc >= 2 && !strcmp(argv[1], "--help"))
        {
            fputs(usage_text, stdout);
            return 0;
        }
        return cli_usage_error("key", "expected a subcommand: generate or rotate");
    }
    const char *sub = argv[1];
    CommonOptions co;
    common_options_init(&co);
    const char *out = NULL, *new_key = NULL, *new_pass = NULL;
    int c, code;
    opterr = 0;
    /* The options follow the subcommand: parse from it as argv[0], as
     * every command's parser starts over from argv[1]. */
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&co, c, optarg, "key", usage_text, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        switch (c)
        {
            case OPT_OUT: out = optarg; break;
            case OPT_NEW_KEY: new_key = optarg; new_pass = NULL; break;
            case OPT_NEW_PASS: new_pass = optarg; new_key = NULL; break;
            default: return cli_bad_option("key", argv, c);
        }
    }
    if (optind != argc)
        return cli_usage_error("key", "unexpected argument '%s'", argv[optind]);
    Error err;
    if (!strcmp(sub, "generate"))
    {
        if (!out)
            return cli_usage_error("key", "generate needs --out FILE");
        if (generate(out, &err) != 0)
            return cli_fail(&err);
        log_info("wrote a new key to %s: keep a copy out of the pool; without it nothing encrypted can be restored", out);
        return 0;
    }
    if (strcmp(sub, "rotate") != 0)
        return cli_usage_error("key", "unknown subcommand '%s' (generate or rotate)", sub);
    if (!co.pool)
        return cli_usage_error("key", "--pool is required");
    if (!key_source_configured())
        return cli_usage_error("key", "rotate needs the current key (--key-file or --passphrase-file)");
    if (!new_key && !new_pass)
        return cli_usage_error("key", "rotate needs the new key (--new-key-file or --new-passphrase-file)");
    Pool *pool;
    if (pool_open(co.pool, &pool, &err) != 0)
        return cli_fail(&err);
    size_t n = 0;
    char new_id[17] = "";
    int rc = pool_keys_rotate(pool, new_key, new_pass, &n, new_id, &err);
    pool_close(pool);
    if (rc != 0)
        return cli_fail(&err);
    if (co.json)
        printf("{\"rewrapped\": %zu, \"key_id\": \"%s\"}\n", n, new_id);
    else
        log_info("pool %s: %zu key object(s) re-wrapped under key %s; the old key no longer opens it", co.pool, n, new_id);
    return 0;
}
