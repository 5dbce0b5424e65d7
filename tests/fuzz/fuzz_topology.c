/* A cluster topology file (--topology, and the copy in a cluster manifest). */
#include "cluster/topology.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    Topology t;
    Error err;
    if (topology_from_json(text, "fuzz/topology.json", &t, &err) == 0)
    {
        char *c = topology_meta_conninfo(&t, &err);
        free(c);
        topology_free(&t);
    }
    free(text);
    return 0;
}
