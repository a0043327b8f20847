/*
 * flag_report.h: the one report block of the flag walkthroughs (flag_effects.c), read by
 * FlagReport.java at the same offsets:
 *
 *   value[0..15] (8b each: what a child or its parent saw) | go (4b) | done (4b)
 *   | text (256b: a path, a line) | text2 (256b)
 *
 * go and done are futex words the parent and the child hand each other (a child waits for
 * go where the parent must act first, as for a user namespace's maps).
 */
#ifndef SPINDLE_SAMPLES_FLAG_REPORT_H
#define SPINDLE_SAMPLES_FLAG_REPORT_H

#include <stddef.h>
#include <stdint.h>

struct flag_report {
    int64_t value[16];
    int32_t go;
    int32_t done;
    char text[256];
    char text2[256];
};

_Static_assert(offsetof(struct flag_report, go) == 128, "Java mirror offset");
_Static_assert(offsetof(struct flag_report, text) == 136, "Java mirror offset");
_Static_assert(sizeof(struct flag_report) == 648, "the Java mirror reads 648 bytes");

#endif
