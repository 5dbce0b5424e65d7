/* A consistency point record (clusters/C/cps/NAME.json) and a cluster
 * backup's manifest (clusters/C/backups/ID/cluster.manifest). */
#include "backup/cluster_backup.h"
#include "consistency/cp_store.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object *o = fuzz_json(data, size);
    if (!o)
        return 0;
    Error err;
    ConsistencyPoint cp;
    if (cp_from_json(o, "fuzz/cp.json", &cp, &err) == 0)
    {
        json_object *back = cp_to_json(&cp);
        json_object_put(back);
        cp_free(&cp);
    }
    cluster_manifest_check(o, "fuzz/cluster.manifest", NULL, NULL, &err);
    json_object_put(o);
    return 0;
}
