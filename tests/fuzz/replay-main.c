/* Replays a fuzz target's seed corpus when the build has no libFuzzer (gcc builds, sanitizer CI). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
                return 1;
        }
        DIR *d = opendir(argv[1]);
        if (!d) {
                fprintf(stderr, "%s: cannot open corpus\n", argv[1]);
                return 1;
        }
        unsigned n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *path = util_printf("%s/%s", argv[1], de->d_name);
                _cleanup_free_ char *buf = NULL;
                size_t len = 0;
                if (!path || util_read_file(path, 16 << 20, &buf, &len) < 0) {
                        fprintf(stderr, "%s: cannot read\n", path ? path : de->d_name);
                        closedir(d);
                        return 1;
                }
                LLVMFuzzerTestOneInput((const uint8_t *) buf, len);
                n++;
        }
        closedir(d);
        printf("replayed %u inputs\n", n);
        return n > 0 ? 0 : 1;
}
