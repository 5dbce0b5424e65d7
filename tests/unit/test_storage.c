/* The POSIX pool backend and sealed objects: atomic commit, abort leaves
 * nothing, listing hides temporaries, a broken seal is refused. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool/pool.h"
#include "pool/sealed.h"
#include "storage/storage.h"
#include "unit.h"

int main(void)
{
    char tmpl[] = "/tmp/strata-unit-XXXXXX";
    char *root = mkdtemp(tmpl);
    Error err;
    Storage *s = storage_posix_new(root);

    StorageWriter *w;
    CHECK(storage_open_write(s, "a/b/c.obj", &w, &err) == 0, "open a writer in a new directory");
    storage_write(w, "hello", 5, &err);
    StorageList l;
    storage_list(s, "a/b", &l, &err);
    CHECK(l.count == 0, "an uncommitted object is not listed");
    storage_list_free(&l);
    bool exists;
    storage_exists(s, "a/b/c.obj", &exists, &err);
    CHECK(!exists, "an uncommitted object does not exist");
    CHECK(storage_commit(w, &err) == 0, "commit");
    storage_exists(s, "a/b/c.obj", &exists, &err);
    CHECK(exists, "a committed object exists");
    Buffer b = {0};
    bool missing;
    CHECK(storage_get(s, "a/b/c.obj", &b, &missing, &err) == 0 && !missing && b.len == 5 && !memcmp(b.data, "hello", 5),
          "read back what was written");
    buffer_free(&b);

    CHECK(storage_open_write(s, "a/b/d.obj", &w, &err) == 0, "second writer");
    storage_write(w, "junk", 4, &err);
    storage_abort(w);
    storage_list(s, "a/b", &l, &err);
    CHECK(l.count == 1 && !strcmp(l.entries[0].name, "c.obj"), "an aborted object leaves nothing");
    storage_list_free(&l);

    CHECK(storage_get(s, "nope", &b, &missing, &err) == 0 && missing, "a missing object is reported as missing");

    /* Listing by prefix: only the names that start with it, sorted, sizes
     * right; "c" matches c.obj and cz.obj, not a sibling directory "b". */
    storage_put(s, "a/b/cz.obj", "12", 2, &err);
    storage_put(s, "a/b/b.obj", "1", 1, &err);
    CHECK(storage_list_prefix(s, "a/b", "c", &l, &err) == 0 && l.count == 2 && !strcmp(l.entries[0].name, "c.obj") &&
              !strcmp(l.entries[1].name, "cz.obj") && l.entries[0].size == 5 && l.entries[1].size == 2,
          "list by prefix: the matching names, sorted, with their sizes");
    storage_list_free(&l);
    CHECK(storage_list_prefix(s, "a/b", "x", &l, &err) == 0 && l.count == 0, "list by prefix: no match lists empty");
    storage_list_free(&l);
    CHECK(storage_list_prefix(s, "a/nope", "c", &l, &err) == 0 && l.count == 0, "list by prefix: an absent dir");
    storage_list_free(&l);
    CHECK(storage_list(s, "a/b", &l, &err) == 0 && l.count == 3, "list without a prefix: every object");
    storage_list_free(&l);
    storage_remove(s, "a/b/cz.obj", &err);
    storage_remove(s, "a/b/b.obj", &err);

    json_object *o = json_object_new_object();
    json_object_object_add(o, "k", json_object_new_string("v"));
    CHECK(sealed_put(s, "sealed.json", o, &err) == 0, "sealed put");
    json_object_put(o);
    json_object *back;
    CHECK(sealed_get(s, "sealed.json", &back, &missing, &err) == 0 && back, "sealed get");
    json_object_put(back);
    /* Flip one byte of the JSON text. */
    char *path = xprintf("%s/sealed.json", root);
    FILE *f = fopen(path, "r+");
    fseek(f, 3, SEEK_SET);
    fputc('X', f);
    fclose(f);
    CHECK(sealed_get(s, "sealed.json", &back, &missing, &err) != 0 && strstr(err.msg, "corrupt"),
          "a tampered sealed object is refused as corrupt");
    /* Truncated: the seal line gone. */
    CHECK(truncate(path, 10) == 0, "truncate");
    CHECK(sealed_get(s, "sealed.json", &back, &missing, &err) != 0 && strstr(err.msg, "missing"),
          "a truncated sealed object is refused");
    free(path);

    /* A writer in progress has no name in the pool at all (O_TMPFILE): a
     * process killed there leaves nothing; replacing works the same. */
    StorageWriter *pw;
    CHECK(storage_open_write(s, "unnamed/obj", &pw, &err) == 0 && storage_write(pw, "abc", 3, &err) == 0,
          "open a writer");
    char *udir = xprintf("%s/unnamed", root);
    DIR *ud = opendir(udir);
    int entries = 0;
    for (struct dirent *de; ud && (de = readdir(ud)) != NULL;)
        entries += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    if (ud)
        closedir(ud);
    CHECK(entries == 0, "a writer in progress leaves no file in the object's directory");
    CHECK(storage_commit(pw, &err) == 0, "commit the unnamed object");
    CHECK(storage_put(s, "unnamed/obj", "defg", 4, &err) == 0, "replace an object");
    Buffer got = {0};
    CHECK(storage_get(s, "unnamed/obj", &got, &missing, &err) == 0 && got.len == 4 && !memcmp(got.data, "defg", 4),
          "the replaced object holds the new content");
    buffer_free(&got);
    ud = opendir(udir);
    entries = 0;
    for (struct dirent *de; ud && (de = readdir(ud)) != NULL;)
        entries += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    if (ud)
        closedir(ud);
    CHECK(entries == 1, "replacing leaves no temporary beside the object");
    free(udir);

    CHECK(node_name_check("cluster1/shard2/node3", &err) == 0, "node names may nest");
    CHECK(node_name_check("../x", &err) != 0, "node name cannot climb");
    CHECK(node_name_check("a b", &err) != 0, "node name cannot hold a space");

    storage_remove_tree(s, "", &err);
    storage_close(s);
    rmdir(root);

    /* pool_open on something that is not a pool says so. */
    Pool *p;
    CHECK(pool_open("/nonexistent/strata-pool", &p, &err) != 0 && strstr(err.msg, "not a strata pool"),
          "a missing pool is refused with a clear message");
    UNIT_DONE();
}
