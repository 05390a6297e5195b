/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * Fixtures the libp2pmr unit tests share: a fake /proc/self/maps for the
 * classification cache and fake sysfs trees in a temporary directory.
 * Failures are cmocka assertions, so a broken fixture fails its test.
 */
#ifndef P2PMR_TEST_FAKE_ENV_H
#define P2PMR_TEST_FAKE_ENV_H

#include <stddef.h>

/* Copy @text into the buffer a maps source fills (see p2pmr_internal.h). */
int fake_maps_copy(const char *text, char **buf, size_t *cap, size_t *len);

/* A maps source whose text is the string *@arg (a const char **) points at. */
int fake_maps_source(void *arg, char **buf, size_t *cap, size_t *len);

/* mkdir -p @path. */
void fake_mkdir_p(const char *path);

/* Create or replace the file @path with @text. */
void fake_write_file(const char *path, const char *text);

/* rm -rf @dir; 0 on success. */
int fake_rm_rf(const char *dir);

#endif /* P2PMR_TEST_FAKE_ENV_H */
