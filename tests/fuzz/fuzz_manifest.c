/* A backup manifest as read back from the pool (manifest_parse), and what
 * restore derives from it. */
#include "fuzz.h"
#include "pool/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object *o = fuzz_json(data, size);
    if (!o)
        return 0;
    Manifest m;
    Error err;
    if (manifest_parse(o, "fuzz/backup.manifest", NULL, NULL, &m, &err) == 0)
    {
        char(*names)[WAL_NAME_LEN + 1];
        size_t n = manifest_required_wal(&m, &names);
        (void) n;
        free(names);
        for (size_t i = 0; i < m.nfiles && i < 4; i++)
        {
            free(manifest_object_path(&m, &m.files[i]));
            (void) manifest_ranges_extent(&m.files[i]);
            for (size_t r = 0; r < m.files[i].nranges && r < 4; r++)
                free(manifest_range_object_path(&m, &m.files[i], &m.files[i].ranges[r]));
        }
        manifest_free(&m);
    }
    json_object_put(o);
    return 0;
}
