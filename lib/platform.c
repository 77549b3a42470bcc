/* Image platform strings ("os/arch[/variant]") and their normal form, as containerd writes it. */
#include "platform.h"

#include <errno.h>
#include <string.h>

#include "util.h"

static bool ascii_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}


bool platform_component_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > PLATFORM_COMPONENT_MAX)
                return false;
        for (; *s; s++)
                if (!ascii_alnum(*s) && *s != '_' && *s != '-' && *s != '.')
                        return false;
        return true;
}

static void prefix_v(char *v) {
        memmove(v + 1, v, strlen(v) + 1);
        v[0] = 'v';
}

int platform_normalize(const char *os, const char *arch, const char *variant, struct platform *ret) {
        if (!os || !arch || strlen(os) > PLATFORM_COMPONENT_MAX || strlen(arch) > PLATFORM_COMPONENT_MAX ||
            (variant && strlen(variant) > PLATFORM_COMPONENT_MAX))
                return -EINVAL;

        struct platform p;
        util_ascii_lower_copy(p.os, os);
        util_ascii_lower_copy(p.arch, arch);
        util_ascii_lower_copy(p.variant, variant ? variant : "");
        char *a = p.arch, *v = p.variant;

        if (streq(p.os, "macos"))
                strcpy(p.os, "darwin");

        if (streq(a, "i386")) {
                strcpy(a, "386");
                v[0] = 0;
        } else if (streq(a, "x86_64") || streq(a, "x86-64") || streq(a, "amd64")) {
                strcpy(a, "amd64");
                if (streq(v, "v1"))
                        v[0] = 0;
        } else if (streq(a, "aarch64") || streq(a, "arm64")) {
                strcpy(a, "arm64");
                if (streq(v, "8") || streq(v, "8.0") || streq(v, "v8") || streq(v, "v8.0"))
                        v[0] = 0;
                else if (streq(v, "9") || streq(v, "9.0") || streq(v, "v9.0"))
                        strcpy(v, "v9");
                else if (v[0] >= '0' && v[0] <= '9') {
                        /* The normal form must itself be a valid platform, so parse(format(p)) is p. */
                        if (strlen(v) >= PLATFORM_COMPONENT_MAX)
                                return -EINVAL;
                        prefix_v(v);
                }
        } else if (streq(a, "armhf")) {
                strcpy(a, "arm");
                strcpy(v, "v7");
        } else if (streq(a, "armel")) {
                strcpy(a, "arm");
                strcpy(v, "v6");
        } else if (streq(a, "arm")) {
                if (streq(v, "") || streq(v, "7"))
                        strcpy(v, "v7");
                else if (streq(v, "5") || streq(v, "6") || streq(v, "8"))
                        prefix_v(v);
        }

        *ret = p;
        return 0;
}

int platform_parse(const char *s, struct platform *ret) {
        char buf[3 * (PLATFORM_COMPONENT_MAX + 1)];
        if (strlen(s) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, s);
        char *arch = strchr(buf, '/');
        if (!arch)
                return -EINVAL;
        *arch++ = 0;
        char *variant = strchr(arch, '/');
        if (variant) {
                *variant++ = 0;
                if (strchr(variant, '/') || !platform_component_valid(variant))
                        return -EINVAL;
        }
        if (!platform_component_valid(buf) || !platform_component_valid(arch))
                return -EINVAL;
        return platform_normalize(buf, arch, variant, ret);
}

char *platform_format(const struct platform *p) {
        if (p->variant[0])
                return util_printf("%s/%s/%s", p->os, p->arch, p->variant);
        return util_printf("%s/%s", p->os, p->arch);
}
