/* The fuzz targets' assertion: it names the broken property, and aborts so libFuzzer keeps the input. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#define ASSERT(cond)                                                                                        \
        do {                                                                                                \
                if (!(cond)) {                                                                              \
                        fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);        \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)
