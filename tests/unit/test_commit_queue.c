/* The commit queue (storage/commit_queue.c): writers pushed are committed
 * by its threads, drain waits for all of them, the first failed commit is
 * the drain's error (naming the object), and the writers pushed after a
 * failure are aborted, not committed. Over a real directory store and the
 * fault-injecting one. */
#include <stdio.h>
#include <string.h>

#include "storage/commit_queue.h"
#include "storage/faulty.h"
#include "unit.h"

static bool
has(Storage *s, const char *path)
{
    bool e = false;
    Error err;
    return storage_exists(s, path, &e, &err) == 0 && e;
}

/* Opens a writer for `key` holding `text`, pushes it. */
static bool
push_object(CommitQueue *q, Storage *s, const char *key, const char *text)
{
    StorageWriter *w;
    Error err;
    if (storage_open_write(s, key, &w, &err) != 0)
        return false;
    if (storage_write(w, text, strlen(text), &err) != 0)
    {
        storage_abort(w);
        return false;
    }
    commit_queue_push(q, w, key);
    return true;
}

static void
test_all_committed(const char *root)
{
    Storage *s = storage_posix_new(root);
    CommitQueue *q = commit_queue_new(2, 3, NULL);
    bool pushed = true;
    char key[64];
    for (int i = 0; i < 40; i++)
    {
        snprintf(key, sizeof(key), "ok/obj%02d", i);
        pushed = pushed && push_object(q, s, key, "payload");
    }
    Error err;
    CHECK(pushed, "40 writers pushed through a queue of 3 slots (a push waits for a free one)");
    CHECK(commit_queue_drain(q, &err) == 0, "drain: every commit succeeded");
    CHECK(!commit_queue_failed(q), "no failure recorded");
    int present = 0;
    for (int i = 0; i < 40; i++)
    {
        snprintf(key, sizeof(key), "ok/obj%02d", i);
        present += has(s, key);
    }
    CHECK(present == 40, "after the drain all 40 objects are there");
    CHECK(push_object(q, s, "ok/after", "x") && commit_queue_drain(q, &err) == 0 && has(s, "ok/after"),
          "the queue stays usable after a drain");
    commit_queue_free(q);
    commit_queue_free(NULL);
    storage_close(s);
}

static void
test_failure(const char *root)
{
    FaultPlan plan = {.op = FAULT_COMMIT, .nth = 3, .kind = FAULT_FAIL, .path_prefix = "bad/"};
    Storage *s = storage_faulty_new(storage_posix_new(root), &plan);
    /* One thread: commits happen in push order, so which ones follow the
     * failure is known. */
    CommitQueue *q = commit_queue_new(1, 2, NULL);
    char key[64];
    for (int i = 1; i <= 3; i++)
    {
        snprintf(key, sizeof(key), "bad/obj%d", i);
        push_object(q, s, key, "payload");
    }
    Error err;
    CHECK(commit_queue_drain(q, &err) != 0, "drain reports the failed commit");
    CHECK(strstr(err.msg, "committing bad/obj3") && strstr(err.msg, "injected fault"),
          "the error names the object and the cause");
    CHECK(commit_queue_failed(q), "the failure is recorded");
    push_object(q, s, "bad/obj4", "payload");
    CHECK(commit_queue_drain(q, &err) != 0 && strstr(err.msg, "bad/obj3"), "later drains keep the first error");
    commit_queue_free(q);
    CHECK(has(s, "bad/obj1") && has(s, "bad/obj2"), "the commits before the failure stand");
    CHECK(!has(s, "bad/obj3"), "the failed commit left no object");
    CHECK(!has(s, "bad/obj4"), "a writer pushed after the failure is aborted, not committed");
    CHECK(storage_faulty_calls(s, FAULT_COMMIT) == 3, "the aborted writer never reached commit");
    storage_close(s);
}

int
main(void)
{
    char tmpl[] = "/tmp/strata-unit-commitq-XXXXXX";
    char *root = mkdtemp(tmpl);
    CHECK(root != NULL, "temporary directory");
    if (!root)
        UNIT_DONE();
    test_all_committed(root);
    test_failure(root);
    char *cmd = xprintf("rm -rf '%s'", root);
    CHECK(system(cmd) == 0, "clean up");
    free(cmd);
    UNIT_DONE();
}
