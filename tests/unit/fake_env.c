// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fake_env.h"

int fake_maps_copy(const char *text, char **buf, size_t *cap, size_t *len)
{
	size_t n = strlen(text);

	if (*cap < n + 1) {
		char *nbuf = realloc(*buf, n + 1);

		if (!nbuf)
			return ENOMEM;
		*buf = nbuf;
		*cap = n + 1;
	}
	memcpy(*buf, text, n + 1);
	*len = n;
	return 0;
}

int fake_maps_source(void *arg, char **buf, size_t *cap, size_t *len)
{
	return fake_maps_copy(*(const char *const *)arg, buf, cap, len);
}

void fake_mkdir_p(const char *path)
{
	char tmp[2 * PATH_MAX], *p;

	assert_true(snprintf(tmp, sizeof(tmp), "%s", path) < (int)sizeof(tmp));
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(tmp, 0755);
		*p = '/';
	}
	assert_true(!mkdir(tmp, 0755) || errno == EEXIST);
}

void fake_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

int fake_rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}
