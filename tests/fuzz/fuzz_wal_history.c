/* Timeline history files and the WAL continuity decision over a listing
 * read from the pool. Input: lines of WAL file names (the listing), then
 * a line "--", then the text of every history file in it. Nothing here
 * may crash, leak or take time in proportion to an LSN or a timeline
 * number (the decision walks what is listed, never a range). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive/wal_continuity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    char *sep = strstr(s, "\n--\n");
    const char *history_text = sep ? sep + 4 : "";
    if (sep)
        *sep = '\0';
    WalList wl = {0};
    TimelineHistory hist[64];
    size_t nhist = 0;
    for (char *line = strtok(s, "\n"); line && wl.count < 256; line = strtok(NULL, "\n"))
    {
        WalObject o = {0};
        if (!wal_object_classify(line, 16 << 20, &o))
            continue;
        o.name = xstrdup(line);
        o.key = xstrdup(line);
        wl.items = xrealloc(wl.items, (wl.count + 1) * sizeof(WalObject));
        wl.items[wl.count++] = o;
        if (o.kind == WAL_HISTORY && nhist < 64)
        {
            Error err;
            if (timeline_history_parse(o.tli, history_text, strlen(history_text), &hist[nhist], &err) != 0)
                hist[nhist].problem = xstrdup(err.msg);
            nhist++;
        }
    }
    wal_list_sort(&wl);
    WalArchiveView v = {.wl = &wl, .seg_size = 16 << 20, .histories = hist, .nhistories = nhist};
    WalIssues issues = {0};
    wal_archive_issues(&v, &issues);
    for (size_t i = 0; i < wl.count && i < 8; i++)
    {
        wal_path_issues(&v, wl.items[i].tli, (Lsn) wl.items[i].segno << 24, 0, &issues, NULL);
        wal_path_issues(&v, wl.items[i].tli, 0, ~(Lsn) 0, &issues, NULL);
        char why[512];
        wal_missing_is_hole(&wl, wl.items[i].name, why, sizeof(why));
    }
    for (size_t i = 0; i < issues.count; i++)
        free(wal_issue_describe(&issues.items[i], 16 << 20));
    wal_issues_free(&issues);
    for (size_t i = 0; i < nhist; i++)
        timeline_history_free(&hist[i]);
    wal_list_free(&wl);
    free(s);
    return 0;
}
