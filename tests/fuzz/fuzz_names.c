/* Names and values strata takes from the pool or the command line: WAL
 * object names, LSNs, numbers, sizes, durations, recovery targets, pool
 * names and paths, and the quoting of configuration values. */
#include "common/quote.h"
#include "fuzz.h"
#include "pg/wal.h"
#include "pipeline/stage.h"
#include "pool/fields.h"
#include "restore/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
targets(const char *s)
{
    Error err;
    int (*parse[])(const char *, Target *, Error *) = {target_parse_time, target_parse_xid, target_parse_lsn,
                                                       target_parse_name};
    for (size_t i = 0; i < sizeof(parse) / sizeof(parse[0]); i++)
    {
        Target t = {0};
        if (parse[i](s, &t, &err) == 0)
            target_free(&t);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_text(data, size);
    Error err;
    uint32_t tli;
    uint64_t segno, u;
    wal_is_archivable_name(s);
    wal_is_segment_name(s);
    wal_is_history_name(s);
    wal_parse_segment_name(s, 16 << 20, &tli, &segno);
    wal_parse_segment_name(s, 1 << 30, &tli, &segno);
    const char *dot = strrchr(s, '.');
    Compression c;
    if (dot)
        compression_from_ext(dot + 1, &c);
    Lsn l;
    if (lsn_parse(s, &l, &err) == 0)
    {
        char buf[32];
        lsn_format(l, buf);
        Lsn again;
        if (lsn_parse(buf, &again, &err) != 0 || again != l)
            abort();   /* what strata writes it must read back */
    }
    parse_u64(s, &u, &err);
    parse_size(s, &u, &err);
    long v;
    parse_int_range(s, -1000, 1000, &v, &err);
    parse_duration(s, 0, 86400, &v, &err);
    targets(s);
    name_check("fuzz", s, true, &err);
    relative_path_check("fuzz", s, &err);
    pg_setting_name_check(s, &err);
    Buffer b = {0};
    pg_conf_assignment_line(&b, s, &err);
    buffer_free(&b);
    if (pg_conf_quote(&b, s, &err) == 0 && (b.len < strlen(s) + 2 || strpbrk(b.data, "\n\r")))
        abort();   /* quoting never drops a byte, never lets a line end in */
    buffer_free(&b);
    free(shell_quote(s));
    free(pg_command_word(s));
    free(s);
    return 0;
}
