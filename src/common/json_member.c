#include "common/json_member.h"

#include <string.h>

const char *
json_member_string(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

int64_t
json_member_int(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

json_object *
json_array_find(json_object *list, const char *key, const char *value)
{
    if (!list || !json_object_is_type(list, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(list); i++)
    {
        json_object *e = json_object_array_get_idx(list, i);
        const char *v = json_member_string(e, key);
        if (v && !strcmp(v, value))
            return e;
    }
    return NULL;
}
