#include "traces/json_out.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>

int xt_json_write(const char *path, struct json_object *o, int flags)
{
    char tmp[4096];

    if (snprintf(tmp, sizeof(tmp), "%s.partial", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (json_object_to_file_ext(tmp, o, flags) < 0 || rename(tmp, path) < 0) {
        int e = errno ? errno : EIO;

        remove(tmp);
        errno = e;
        return -1;
    }
    return 0;
}
