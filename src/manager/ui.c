/* The web UI's static files (ui/), compiled into the binary by
 * scripts/embed-ui.sh (Makefile): the daemon serves them from memory and
 * needs nothing on disk. They are public (no token): the page asks for the
 * token and sends it with every API call. */
#include <string.h>

#include "manager/manager.h"

typedef struct UiFile
{
    const char *path;
    const unsigned char *data;
    size_t len;
    const char *type;
} UiFile;

extern const UiFile ui_files[];

bool
ui_lookup(const char *url, const char **data, size_t *len, const char **content_type)
{
    /* The UI's entry point is the site's root. */
    const char *path = !strcmp(url, "/") || !strcmp(url, "/ui") || !strcmp(url, "/ui/") ? "/ui/index.html" : url;
    for (const UiFile *f = ui_files; f->path; f++)
        if (!strcmp(f->path, path))
        {
            *data = (const char *) f->data;
            *len = f->len;
            *content_type = f->type;
            return true;
        }
    return false;
}
