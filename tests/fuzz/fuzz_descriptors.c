/* The pool's small descriptors: strata-pool.json, a node's node.json and a
 * backup's lease.json. */
#include "fuzz.h"
#include "pool/lease.h"
#include "pool/pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Error err;
    Buffer b = {0};
    buffer_append(&b, data, size);
    LeaseInfo li;
    lease_parse("fuzz/lease.json", &b, &li, &err);
    buffer_free(&b);
    json_object *o = fuzz_json(data, size);
    if (!o)
        return 0;
    NodeInfo ni;
    node_info_parse(o, "fuzz/node.json", &ni, &err);
    int format;
    pool_descriptor_parse(o, "fuzz", &format, &err);
    json_object_put(o);
    return 0;
}
