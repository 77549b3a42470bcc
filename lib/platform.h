/* Image platform strings ("os/arch[/variant]") and their normal form, as containerd writes it. */
#pragma once

#include <stdbool.h>

/* Longest platform component (os, architecture, variant) accepted; known names are far shorter. */
#define PLATFORM_COMPONENT_MAX 32u

/* A platform in normal form, in fixed buffers: lowercase, variant "" when there is none. */
struct platform {
        char os[PLATFORM_COMPONENT_MAX + 1];
        char arch[PLATFORM_COMPONENT_MAX + 1];
        char variant[PLATFORM_COMPONENT_MAX + 1];
};

/* Whether s is a usable component: 1 to PLATFORM_COMPONENT_MAX ASCII letters, digits, '.', '_'
 * or '-'. */
bool platform_component_valid(const char *s);

/* Normalizes a platform: ASCII lowercase; macos → darwin; x86_64/x86-64 → amd64, whose variant v1
 * is dropped; i386 → 386 without variant; aarch64 → arm64, whose variants 8, 8.0, v8 and v8.0 are
 * dropped, 9, 9.0 and v9.0 are v9 and any other starting with a digit gains a "v"; armhf → arm/v7,
 * armel → arm/v6; arm without a variant or with 7 is arm/v7, with 5, 6 or 8 arm/v5, v6, v8. The
 * components are not checked beyond their length (so text from a registry that is no platform
 * still compares as itself); variant may be NULL. Returns 0, or -EINVAL when os or arch is NULL
 * or a component, before or after normalization, is longer than PLATFORM_COMPONENT_MAX. */
int platform_normalize(const char *os, const char *arch, const char *variant, struct platform *ret);

/* Parses "os/arch[/variant]", each part platform_component_valid(), into its normal form.
 * Returns 0 or -EINVAL. */
int platform_parse(const char *s, struct platform *ret);

/* "os/arch" or "os/arch/variant"; NULL on allocation failure. */
char *platform_format(const struct platform *p);
